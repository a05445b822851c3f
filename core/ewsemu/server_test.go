package ewsemu

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailferry/mailferry/core/testsrv/ewsschema"
)

func TestSharedExamplesAreAcceptedAndAnswered(t *testing.T) {
	s := startTest(t, nil)
	c := httpClient(s)
	files, err := filepath.Glob(filepath.Join(ewsschema.RequestsDir(), "*.xml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no example requests: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// createitem-mime.xml impersonates bob: svc may do that. The others
		// act on the caller's own mailbox: run them as bob.
		user, pass := "bob", "bob-pw"
		if strings.Contains(string(b), "ExchangeImpersonation") {
			user, pass = "svc", "Svc-pw-1"
		}
		msgs := call(t, s, c, user, pass, string(b))
		if len(msgs) != 1 {
			t.Fatalf("%s: %d response messages", f, len(msgs))
		}
		want := "NoError"
		if filepath.Base(f) == "finditem-dedupe.xml" { // its FolderId is a placeholder
			want = "ErrorInvalidIdMalformed"
		}
		if msgs[0].ResponseCode != want {
			t.Errorf("%s: %s %s, want %s", filepath.Base(f), msgs[0].ResponseClass, msgs[0].ResponseCode, want)
		}
	}
	if paths := s.FolderPaths(bobAddr); !slices.ContainsFunc(paths, func(p []string) bool { return slices.Equal(p, []string{"Projects"}) }) {
		t.Errorf("createfolder.xml did not create Projects: %v", paths)
	}
	items := s.Items(bobAddr, []string{"inbox"})
	if len(items) != 1 {
		t.Fatalf("createitem-mime.xml stored %d items in bob's inbox", len(items))
	}
	it := items[0]
	if it.IsDraft || it.IsRead || it.FlagStatus != 2 || it.Subject != "Hello" ||
		!it.DateTimeReceived.Equal(time.Date(2024, 3, 4, 10, 5, 0, 0, time.UTC)) ||
		!it.DateTimeSent.Equal(time.Date(2024, 3, 4, 10, 0, 0, 0, time.UTC)) ||
		it.ExtendedProps["guid:"+stampSet+"/name:MigSourceKey"] != "imap://src.example.org/INBOX;UIDVALIDITY=1700000000;UID=42" {
		t.Errorf("stored item = %+v", it)
	}
}

func TestSchemaValidationRejectsInvalidRequests(t *testing.T) {
	s := startTest(t, nil)
	c := httpClient(s)
	good := soap("", `<m:CreateFolder><m:ParentFolderId>`+distinguished("msgfolderroot", "")+
		`</m:ParentFolderId><m:Folders><t:Folder><t:FolderClass>IPF.Note</t:FolderClass><t:DisplayName>X</t:DisplayName></t:Folder></m:Folders></m:CreateFolder>`)
	cases := []struct{ name, from, to string }{
		{"https messages namespace", `xmlns:m="http://schemas`, `xmlns:m="https://schemas`},
		{"https types namespace", `xmlns:t="http://schemas`, `xmlns:t="https://schemas`},
		{"unknown element", `<t:DisplayName>`, `<t:Colour>red</t:Colour><t:DisplayName>`},
		{"wrong element order", `<t:FolderClass>IPF.Note</t:FolderClass><t:DisplayName>X</t:DisplayName>`, `<t:DisplayName>X</t:DisplayName><t:FolderClass>IPF.Note</t:FolderClass>`},
		{"bad attribute value", `Version="Exchange2010_SP2"`, `Version="Exchange2099"`},
		{"not well-formed", `</soap:Envelope>`, `</soap:Envelop>`},
		{"soap 1.2 envelope", `http://schemas.xmlsoap.org/soap/envelope/`, `http://www.w3.org/2003/05/soap-envelope`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bad := strings.Replace(good, tc.from, tc.to, 1)
			if bad == good {
				t.Fatal("replacement did not apply")
			}
			r := post(t, c, s.EWSURL(), "alice", "alice-pw", bad)
			if r.Status != http.StatusInternalServerError {
				t.Fatalf("HTTP %d, want 500: %s", r.Status, r.Body)
			}
			env := decode(t, r)
			f := env.Body.Fault
			if f == nil || f.FaultCode != "a:ErrorSchemaValidation" || f.Detail.ResponseCode != "ErrorSchemaValidation" ||
				!strings.Contains(f.Detail.MessageXML.Inner, "LineNumber") {
				t.Fatalf("fault = %+v\n%s", f, r.Body)
			}
			t.Logf("%s", f.Detail.Message)
		})
	}
	if got := s.Stats().SchemaRejected; got != len(cases) {
		t.Errorf("SchemaRejected = %d, want %d", got, len(cases))
	}
	if paths := s.FolderPaths(aliceAddr); slices.ContainsFunc(paths, func(p []string) bool { return p[0] == "X" }) {
		t.Error("an invalid request created a folder")
	}
	// The valid request goes through.
	msgs := call(t, s, c, "alice", "alice-pw", good)
	if msgs[0].ResponseCode != "NoError" {
		t.Fatalf("valid request: %+v", msgs[0])
	}
}

func findFolderBody(traversal, parent, view string) string {
	return `<m:FindFolder Traversal="` + traversal + `"><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>` +
		`<t:FieldURI FieldURI="folder:DisplayName"/><t:FieldURI FieldURI="folder:ParentFolderId"/><t:FieldURI FieldURI="folder:FolderClass"/>` +
		`<t:FieldURI FieldURI="folder:TotalCount"/></t:AdditionalProperties></m:FolderShape>` + view +
		`<m:ParentFolderIds>` + parent + `</m:ParentFolderIds></m:FindFolder>`
}

func createFolderBody(parent string, names ...string) string {
	var f strings.Builder
	for _, n := range names {
		f.WriteString(`<t:Folder><t:FolderClass>IPF.Note</t:FolderClass><t:DisplayName>` + n + `</t:DisplayName></t:Folder>`)
	}
	return `<m:CreateFolder><m:ParentFolderId>` + parent + `</m:ParentFolderId><m:Folders>` + f.String() + `</m:Folders></m:CreateFolder>`
}

func TestFolders(t *testing.T) {
	s := startTest(t, nil)
	c := httpClient(s)
	as := func(req string) []xMsg { return call(t, s, c, "alice", "alice-pw", soap("", req)) }

	msgs := as(createFolderBody(distinguished("msgfolderroot", ""), "Projects", "projects", "Archive 2024"))
	if len(msgs) != 3 || msgs[0].ResponseCode != "NoError" || msgs[1].ResponseCode != "ErrorFolderExists" ||
		msgs[1].ResponseClass != "Error" || msgs[2].ResponseCode != "NoError" {
		t.Fatalf("CreateFolder = %+v", msgs)
	}
	projects := msgs[0].Folders[0].FolderID
	if _, err := base64.StdEncoding.DecodeString(projects.ID); err != nil || projects.ChangeKey == "" {
		t.Fatalf("FolderId %+v is not opaque base64", projects)
	}
	msgs = as(createFolderBody(`<t:FolderId Id="`+projects.ID+`"/>`, "Q1/Q2", "Sub"))
	if msgs[0].ResponseCode != "NoError" || msgs[1].ResponseCode != "NoError" {
		t.Fatalf("CreateFolder under FolderId = %+v", msgs)
	}
	// Same name under another parent is fine; an existing well-known name is not.
	msgs = as(createFolderBody(distinguished("inbox", ""), "Sub") + "")
	if msgs[0].ResponseCode != "NoError" {
		t.Fatalf("Sub under inbox: %+v", msgs[0])
	}
	msgs = as(createFolderBody(distinguished("msgfolderroot", ""), "INBOX"))
	if msgs[0].ResponseCode != "ErrorFolderExists" {
		t.Fatalf("INBOX under msgfolderroot: %+v", msgs[0])
	}

	deep := as(findFolderBody("Deep", distinguished("msgfolderroot", ""), ""))[0]
	if deep.ResponseCode != "NoError" || deep.Root == nil {
		t.Fatalf("FindFolder Deep = %+v", deep)
	}
	byName := map[string]xFolder{}
	for _, f := range deep.Root.Folders {
		byName[f.DisplayName] = f
	}
	for _, n := range []string{"Inbox", "Sent Items", "Drafts", "Deleted Items", "Junk Email", "Outbox", "Projects", "Archive 2024", "Q1/Q2"} {
		if _, ok := byName[n]; !ok {
			t.Errorf("Deep FindFolder misses %q", n)
		}
	}
	if byName["Q1/Q2"].ParentFolderID.ID != projects.ID || byName["Projects"].FolderClass != "IPF.Note" {
		t.Errorf("Q1/Q2 = %+v", byName["Q1/Q2"])
	}
	if !deep.Root.IncludesLastItemInRange || deep.Root.TotalItemsInView != len(deep.Root.Folders) {
		t.Errorf("root = %+v", deep.Root)
	}

	shallow := as(findFolderBody("Shallow", `<t:FolderId Id="`+projects.ID+`"/>`, ""))[0]
	if len(shallow.Root.Folders) != 2 {
		t.Errorf("Shallow under Projects = %+v", shallow.Root.Folders)
	}

	// Paging FindFolder.
	var seen []string
	for off := 0; ; {
		page := as(findFolderBody("Deep", distinguished("msgfolderroot", ""),
			fmt.Sprintf(`<m:IndexedPageFolderView MaxEntriesReturned="4" Offset="%d" BasePoint="Beginning"/>`, off)))[0]
		for _, f := range page.Root.Folders {
			seen = append(seen, f.FolderID.ID)
		}
		if page.Root.IncludesLastItemInRange {
			break
		}
		if len(page.Root.Folders) != 4 || page.Root.IndexedPagingOffset != off+4 {
			t.Fatalf("page at %d = %+v", off, page.Root)
		}
		off = page.Root.IndexedPagingOffset
	}
	if len(seen) != len(deep.Root.Folders) {
		t.Errorf("paged %d folders, deep has %d", len(seen), len(deep.Root.Folders))
	}

	// Restriction on DisplayName (case-insensitive), level by level.
	restricted := as(`<m:FindFolder Traversal="Shallow"><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape>` +
		`<m:Restriction><t:IsEqualTo><t:FieldURI FieldURI="folder:DisplayName"/><t:FieldURIOrConstant><t:Constant Value="PROJECTS"/></t:FieldURIOrConstant></t:IsEqualTo></m:Restriction>` +
		`<m:ParentFolderIds>` + distinguished("msgfolderroot", "") + `</m:ParentFolderIds></m:FindFolder>`)[0]
	if len(restricted.Root.Folders) != 1 || restricted.Root.Folders[0].FolderID.ID != projects.ID {
		t.Errorf("restricted FindFolder = %+v", restricted.Root)
	}

	// GetFolder by distinguished id and by FolderId; unknown id.
	get := as(`<m:GetFolder><m:FolderShape><t:BaseShape>AllProperties</t:BaseShape></m:FolderShape><m:FolderIds>` +
		distinguished("inbox", "") + `<t:FolderId Id="` + projects.ID + `"/><t:FolderId Id="bm90LWFuLWlk"/></m:FolderIds></m:GetFolder>`)
	if len(get) != 3 || get[0].Folders[0].DisplayName != "Inbox" || get[1].Folders[0].DisplayName != "Projects" ||
		get[2].ResponseCode != "ErrorInvalidIdMalformed" {
		t.Errorf("GetFolder = %+v", get)
	}

	want := [][]string{{"Projects"}, {"Projects", "Q1/Q2"}, {"Projects", "Sub"}, {"Archive 2024"}, {"Inbox", "Sub"}}
	paths := s.FolderPaths(aliceAddr)
	for _, w := range want {
		if !slices.ContainsFunc(paths, func(p []string) bool { return slices.Equal(p, w) }) {
			t.Errorf("FolderPaths lacks %v: %v", w, paths)
		}
	}
}

func TestCreateItemStoresMessagesLikeExchange(t *testing.T) {
	s := startTest(t, nil)
	c := httpClient(s)
	s.SetMaxItemSize(4096)
	mime1 := mimeMsg("Read and flagged", "m1@example.org", 0)
	req := soap("", createItem(distinguished("inbox", aliceAddr),
		message(mime1, nil,
			tagProp("0x0E07", "Integer", "1"),
			tagProp("0x0E06", "SystemTime", "2024-03-04T10:05:00Z"),
			tagProp("0x0039", "SystemTime", "2024-03-04T10:00:00Z"),
			tagProp("0x1090", "Integer", "2"),
			stampProp("k1")),
		message(mimeMsg("No flags: a draft", "m2@example.org", 0), nil, stampProp("k2")),
		message(mimeMsg("Too big", "m3@example.org", 5000), nil, stampProp("k3")),
		message(mimeMsg("Unread via IsRead", "m4@example.org", 0), ptr(false), tagProp("0x0E07", "Integer", "1"), stampProp("k4")),
		message(mimeMsg("Bad value", "m5@example.org", 0), nil, tagProp("0x0E06", "SystemTime", "yesterday")),
	))
	msgs := call(t, s, c, "alice", "alice-pw", req)
	codes := []string{}
	for _, m := range msgs {
		codes = append(codes, m.ResponseCode)
	}
	want := []string{"NoError", "NoError", "ErrorMessageSizeExceeded", "NoError", "ErrorInvalidExtendedPropertyValue"}
	if !slices.Equal(codes, want) {
		t.Fatalf("codes = %v, want %v", codes, want)
	}
	if msgs[2].ResponseClass != "Error" || len(msgs[0].Items) != 1 || msgs[0].Items[0].ItemID.ID == "" {
		t.Fatalf("response = %+v", msgs)
	}

	items := s.Items(aliceAddr, []string{"Inbox"})
	if len(items) != 3 {
		t.Fatalf("%d items stored", len(items))
	}
	a, b, d := items[0], items[1], items[2]
	if string(a.MIME) != mime1 || a.IsDraft || !a.IsRead || a.FlagStatus != 2 || a.Subject != "Read and flagged" ||
		!a.DateTimeReceived.Equal(time.Date(2024, 3, 4, 10, 5, 0, 0, time.UTC)) ||
		!a.DateTimeSent.Equal(time.Date(2024, 3, 4, 10, 0, 0, 0, time.UTC)) ||
		a.InternetMessageID != "<m1@example.org>" || !slices.Equal(a.FolderPath, []string{"Inbox"}) {
		t.Errorf("item 1 = %+v", a)
	}
	if !b.IsDraft || b.IsRead || b.MessageFlags != MsgFlagUnsent|MsgFlagUnmodified {
		t.Errorf("item without PR_MESSAGE_FLAGS should be an unread draft: %+v", b)
	}
	// Date: header gives the sent time when PR_CLIENT_SUBMIT_TIME is absent.
	if !b.DateTimeSent.Equal(time.Date(2024, 3, 4, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("item 2 sent = %v", b.DateTimeSent)
	}
	if d.IsRead || d.IsDraft {
		t.Errorf("IsRead=false must clear MSGFLAG_READ: %+v", d)
	}
	if st := s.Stats(); st.ItemsCreated != 3 || st.Requests["CreateItem"] != 1 {
		t.Errorf("stats = %+v", st)
	}

	// GetItem returns the MIME and the requested properties.
	get := call(t, s, c, "alice", "alice-pw", soap("", `<m:GetItem><m:ItemShape><t:BaseShape>Default</t:BaseShape><t:IncludeMimeContent>true</t:IncludeMimeContent>`+
		`<t:AdditionalProperties><t:FieldURI FieldURI="message:InternetMessageId"/>`+
		`<t:ExtendedFieldURI PropertyTag="0x0E07" PropertyType="Integer"/><t:ExtendedFieldURI PropertyTag="0x1090" PropertyType="Integer"/>`+
		stampURI+`</t:AdditionalProperties></m:ItemShape><m:ItemIds><t:ItemId Id="`+msgs[0].Items[0].ItemID.ID+`"/><t:ItemId Id="`+msgs[1].Items[0].ItemID.ID+`"/></m:ItemIds></m:GetItem>`))
	if len(get) != 2 || get[0].ResponseCode != "NoError" {
		t.Fatalf("GetItem = %+v", get)
	}
	g := get[0].Items[0]
	raw, _ := base64.StdEncoding.DecodeString(g.MimeContent)
	if string(raw) != mime1 || *g.IsDraft || !*g.IsRead || g.Subject != "Read and flagged" || g.DateTimeReceived != "2024-03-04T10:05:00Z" {
		t.Errorf("GetItem item = %+v", g)
	}
	props := map[string]string{}
	for _, p := range g.ExtendedProperty {
		props[p.URI.PropertyTag+p.URI.PropertyName] = p.Value
	}
	if props["0xe07"] != "1" || props["0x1090"] != "2" || props["MigSourceKey"] != "k1" {
		t.Errorf("extended properties = %v", props)
	}
	g2 := get[1].Items[0]
	if !*g2.IsDraft {
		t.Errorf("second item should be a draft: %+v", g2)
	}
	for _, p := range g2.ExtendedProperty {
		if p.URI.PropertyTag == "0x1090" {
			t.Errorf("unflagged item returned PR_FLAG_STATUS %q", p.Value)
		}
	}

	// Without SavedItemFolderId SaveOnly goes to Drafts; without MessageDisposition it fails.
	msgs = call(t, s, c, "alice", "alice-pw", soap("", `<m:CreateItem MessageDisposition="SaveOnly"><m:Items>`+message(mimeMsg("d", "d@x", 0), nil)+`</m:Items></m:CreateItem>`))
	if msgs[0].ResponseCode != "NoError" || len(s.Items(aliceAddr, []string{"drafts"})) != 1 {
		t.Errorf("SaveOnly without folder: %+v", msgs)
	}
	msgs = call(t, s, c, "alice", "alice-pw", soap("", `<m:CreateItem><m:Items>`+message(mimeMsg("d", "d@x", 0), nil)+`</m:Items></m:CreateItem>`))
	if msgs[0].ResponseCode != "ErrorMessageDispositionRequired" {
		t.Errorf("no MessageDisposition: %+v", msgs)
	}
}

func findItemBody(folder, extra string, max, offset int) string {
	return `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>` + stampURI +
		`<t:FieldURI FieldURI="message:InternetMessageId"/></t:AdditionalProperties></m:ItemShape>` +
		fmt.Sprintf(`<m:IndexedPageItemView MaxEntriesReturned="%d" Offset="%d" BasePoint="Beginning"/>`, max, offset) + extra +
		`<m:ParentFolderIds>` + folder + `</m:ParentFolderIds></m:FindItem>`
}

func TestFindItemPagingAndRestrictions(t *testing.T) {
	s := startTest(t, func(o *Options) { o.FindCountLimit = 20 })
	c := httpClient(s)
	var batch []string
	for i := range 45 {
		received := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour).Format(time.RFC3339)
		batch = append(batch, message(mimeMsg(fmt.Sprint("m", i), fmt.Sprintf("m%d@x", i), 0), nil,
			tagProp("0x0E07", "Integer", "1"), tagProp("0x0E06", "SystemTime", received), stampProp(fmt.Sprint("key-", i))))
	}
	batch = append(batch, message(mimeMsg("unstamped", "u@x", 0), nil))
	inbox := distinguished("inbox", aliceAddr)
	msgs := call(t, s, c, "admin", "Adm1n!pw", soap("", createItem(inbox, batch...)))
	if len(msgs) != 46 {
		t.Fatalf("%d response messages", len(msgs))
	}

	keys := map[string]bool{}
	pages := 0
	for off := 0; ; pages++ {
		m := call(t, s, c, "admin", "Adm1n!pw", soap("", findItemBody(inbox, "", 1000, off)))[0]
		if m.ResponseCode != "NoError" || m.Root.TotalItemsInView != 46 {
			t.Fatalf("FindItem = %+v", m)
		}
		// MaxEntriesReturned above EWSFindCountLimit is capped.
		if !m.Root.IncludesLastItemInRange && len(m.Root.Items) != 20 {
			t.Fatalf("page of %d items", len(m.Root.Items))
		}
		for _, it := range m.Root.Items {
			for _, p := range it.ExtendedProperty {
				keys[p.Value] = true
			}
		}
		if m.Root.IncludesLastItemInRange {
			break
		}
		off = m.Root.IndexedPagingOffset
	}
	if len(keys) != 45 || pages != 2 {
		t.Errorf("collected %d keys in %d+1 pages", len(keys), pages)
	}

	exists := `<m:Restriction><t:Exists>` + stampURI + `</t:Exists></m:Restriction>`
	m := call(t, s, c, "admin", "Adm1n!pw", soap("", findItemBody(inbox, exists, 10, 40)))[0]
	if m.Root.TotalItemsInView != 45 || len(m.Root.Items) != 5 || !m.Root.IncludesLastItemInRange || m.Root.IndexedPagingOffset != 45 {
		t.Errorf("Exists page = %+v", m.Root)
	}
	// Newest received first: offset 0 is key-44.
	m = call(t, s, c, "admin", "Adm1n!pw", soap("", findItemBody(inbox, exists, 1, 0)))[0]
	if len(m.Root.Items) != 1 || m.Root.Items[0].ExtendedProperty[0].Value != "key-44" {
		t.Errorf("first item = %+v", m.Root.Items)
	}
	byKey := `<m:Restriction><t:IsEqualTo>` + stampURI + `<t:FieldURIOrConstant><t:Constant Value="key-7"/></t:FieldURIOrConstant></t:IsEqualTo></m:Restriction>`
	m = call(t, s, c, "admin", "Adm1n!pw", soap("", findItemBody(inbox, byKey, 1, 0)))[0]
	if len(m.Root.Items) != 1 || m.Root.Items[0].InternetMsgID != "<m7@x>" {
		t.Errorf("IsEqualTo = %+v", m.Root)
	}
	notExists := `<m:Restriction><t:Not><t:Exists>` + stampURI + `</t:Exists></t:Not></m:Restriction>`
	m = call(t, s, c, "admin", "Adm1n!pw", soap("", findItemBody(inbox, notExists, 10, 0)))[0]
	if len(m.Root.Items) != 1 || m.Root.Items[0].InternetMsgID != "<u@x>" {
		t.Errorf("Not Exists = %+v", m.Root)
	}
	// The shared dedupe example's paging shape (FolderId parent) works on a real id.
	folderID := call(t, s, c, "admin", "Adm1n!pw", soap("", `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds>`+inbox+`</m:FolderIds></m:GetFolder>`))[0].Folders[0].FolderID.ID
	m = call(t, s, c, "admin", "Adm1n!pw", soap("", findItemBody(`<t:FolderId Id="`+folderID+`"/>`, exists, 1000, 0)))[0]
	if m.Root.TotalItemsInView != 45 {
		t.Errorf("by FolderId = %+v", m.Root)
	}
}

func TestDelegationAndImpersonationRights(t *testing.T) {
	s := startTest(t, nil)
	c := httpClient(s)
	item := message(mimeMsg("s", "s@x", 0), nil, tagProp("0x0E07", "Integer", "0"))

	// admin: FullAccess on alice, not on bob.
	m := call(t, s, c, "admin", "Adm1n!pw", soap("", createItem(distinguished("inbox", aliceAddr), item)))[0]
	if m.ResponseCode != "NoError" {
		t.Errorf("admin → alice: %+v", m)
	}
	m = call(t, s, c, "admin", "Adm1n!pw", soap("", createItem(distinguished("inbox", bobAddr), item)))[0]
	if m.ResponseCode != "ErrorAccessDenied" || m.ResponseClass != "Error" {
		t.Errorf("admin → bob: %+v", m)
	}
	m = call(t, s, c, "admin", "Adm1n!pw", soap("", findFolderBody("Deep", distinguished("msgfolderroot", "nobody@example.net"), "")))[0]
	if m.ResponseCode != "ErrorNonExistentMailbox" {
		t.Errorf("admin → unknown mailbox: %+v", m)
	}
	// A FolderId from alice's mailbox is still checked.
	aliceInbox := call(t, s, c, "alice", "alice-pw", soap("", `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds>`+distinguished("inbox", "")+`</m:FolderIds></m:GetFolder>`))[0].Folders[0].FolderID.ID
	m = call(t, s, c, "bob", "bob-pw", soap("", findItemBody(`<t:FolderId Id="`+aliceInbox+`"/>`, "", 10, 0)))[0]
	if m.ResponseCode != "ErrorAccessDenied" {
		t.Errorf("bob → alice's FolderId: %+v", m)
	}
	// svc has no mailbox: a bare DistinguishedFolderId fails.
	m = call(t, s, c, "svc", "Svc-pw-1", soap("", findFolderBody("Shallow", distinguished("msgfolderroot", ""), "")))[0]
	if m.ResponseCode != "ErrorMissingEmailAddress" {
		t.Errorf("svc without mailbox: %+v", m)
	}
	// svc impersonates bob: acts as bob.
	m = call(t, s, c, "svc", "Svc-pw-1", soap(impersonate(bobAddr), createItem(distinguished("inbox", ""), item)))[0]
	if m.ResponseCode != "NoError" || len(s.Items(bobAddr, []string{"inbox"})) != 1 {
		t.Errorf("svc as bob: %+v", m)
	}
	// ... and as bob it cannot open alice's mailbox.
	m = call(t, s, c, "svc", "Svc-pw-1", soap(impersonate(bobAddr), createItem(distinguished("inbox", aliceAddr), item)))[0]
	if m.ResponseCode != "ErrorAccessDenied" {
		t.Errorf("svc as bob → alice: %+v", m)
	}
	// alice has no impersonation right: SOAP fault.
	r := post(t, c, s.EWSURL(), "alice", "alice-pw", soap(impersonate(bobAddr), createItem(distinguished("inbox", ""), item)))
	env := decode(t, r)
	if r.Status != http.StatusInternalServerError || env.Body.Fault == nil || env.Body.Fault.Detail.ResponseCode != "ErrorImpersonateUserDenied" {
		t.Errorf("alice impersonating bob: HTTP %d %s", r.Status, r.Body)
	}
	r = post(t, c, s.EWSURL(), "svc", "Svc-pw-1", soap(impersonate("nobody@example.net"), createItem(distinguished("inbox", ""), item)))
	if env := decode(t, r); env.Body.Fault == nil || env.Body.Fault.Detail.ResponseCode != "ErrorNonExistentMailbox" {
		t.Errorf("impersonating nobody: HTTP %d %s", r.Status, r.Body)
	}
	if n := len(s.Items(bobAddr, []string{"inbox"})); n != 1 {
		t.Errorf("bob's inbox has %d items", n)
	}
}

func TestBasicAuth(t *testing.T) {
	s := startTest(t, nil)
	c := httpClient(s)
	req := soap("", findFolderBody("Shallow", distinguished("msgfolderroot", ""), ""))
	if r := post(t, c, s.EWSURL(), "alice", "alice-pw", req); r.Status != http.StatusOK {
		t.Fatalf("good password: HTTP %d", r.Status)
	}
	for _, login := range []string{`EXAMPLE\alice`, aliceAddr, "ALICE"} {
		if r := post(t, c, s.EWSURL(), login, "alice-pw", req); r.Status != http.StatusOK {
			t.Errorf("login %q: HTTP %d", login, r.Status)
		}
	}
	for _, cred := range [][2]string{{"alice", "wrong"}, {"mallory", "alice-pw"}, {"", ""}} {
		r := post(t, c, s.EWSURL(), cred[0], cred[1], req)
		if r.Status != http.StatusUnauthorized {
			t.Fatalf("%v: HTTP %d", cred, r.Status)
		}
		h := strings.Join(r.Header.Values("WWW-Authenticate"), ",")
		if !strings.Contains(h, "NTLM") || !strings.Contains(h, "Basic realm=") || !strings.Contains(h, "Negotiate") {
			t.Errorf("WWW-Authenticate = %q", h)
		}
	}
	// An authenticated GET gets the service page, an anonymous one a 401.
	req2, _ := http.NewRequest(http.MethodGet, s.EWSURL(), nil)
	if resp, err := c.Do(req2); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous GET: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	req2.SetBasicAuth("alice", "alice-pw")
	if resp, err := c.Do(req2); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("GET: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	s2 := startTest(t, func(o *Options) { o.DisableBasic = true })
	if r := post(t, httpClient(s2), s2.EWSURL(), "alice", "alice-pw", req); r.Status != http.StatusUnauthorized ||
		strings.Contains(strings.Join(r.Header.Values("WWW-Authenticate"), ","), "Basic") {
		t.Errorf("Basic disabled: HTTP %d %v", r.Status, r.Header.Values("WWW-Authenticate"))
	}
}

func TestThrottling(t *testing.T) {
	s := startTest(t, nil)
	c := httpClient(s)
	req := soap("", createItem(distinguished("inbox", ""), message(mimeMsg("t", "t@x", 0), nil), message(mimeMsg("u", "u@x", 0), nil)))

	s.SetThrottle(Throttle{Kind: ThrottleServerBusyFault, BackOff: 1500 * time.Millisecond, Every: 2, Operations: []string{"CreateItem"}})
	var statuses []int
	for range 4 {
		r := post(t, c, s.EWSURL(), "alice", "alice-pw", req)
		statuses = append(statuses, r.Status)
		if r.Status == http.StatusInternalServerError {
			env := decode(t, r)
			if env.Body.Fault == nil || env.Body.Fault.FaultCode != "a:ErrorServerBusy" ||
				!strings.Contains(env.Body.Fault.Detail.MessageXML.Inner, `Name="BackOffMilliseconds">1500<`) {
				t.Errorf("busy fault = %s", r.Body)
			}
		}
	}
	if !slices.Equal(statuses, []int{200, 500, 200, 500}) {
		t.Errorf("statuses = %v", statuses)
	}
	// Other operations are not throttled by an operation-scoped rule.
	if r := post(t, c, s.EWSURL(), "alice", "alice-pw", soap("", findFolderBody("Shallow", distinguished("inbox", ""), ""))); r.Status != 200 {
		t.Errorf("FindFolder throttled: %d", r.Status)
	}
	if n := len(s.Items(aliceAddr, []string{"inbox"})); n != 4 {
		t.Errorf("%d items after 2 successful batches", n)
	}

	s.SetThrottle(Throttle{Kind: ThrottleServerBusyItems, BackOff: 200 * time.Millisecond, Count: 1})
	msgs := call(t, s, c, "alice", "alice-pw", req)
	if len(msgs) != 2 || msgs[0].ResponseCode != "ErrorServerBusy" || !strings.Contains(msgs[1].MessageXML.Inner, `BackOffMilliseconds">200<`) {
		t.Errorf("per-item busy = %+v", msgs)
	}
	if msgs := call(t, s, c, "alice", "alice-pw", req); msgs[0].ResponseCode != "NoError" {
		t.Errorf("Count=1 should stop throttling: %+v", msgs)
	}

	for _, tc := range []struct {
		kind   ThrottleKind
		status int
		retry  string
	}{
		{ThrottleHTTP503, 503, "3"},
		{ThrottleHTTP429, 429, "3"},
		{ThrottleHTTP500, 500, ""},
	} {
		s.SetThrottle(Throttle{Kind: tc.kind, BackOff: 2500 * time.Millisecond})
		r := post(t, c, s.EWSURL(), "alice", "alice-pw", req)
		if r.Status != tc.status || r.Header.Get("Retry-After") != tc.retry {
			t.Errorf("kind %d: HTTP %d Retry-After %q", tc.kind, r.Status, r.Header.Get("Retry-After"))
		}
	}
	s.SetThrottle(Throttle{})
	if st := s.Stats(); st.Throttled != 2+1+3 {
		t.Errorf("Throttled = %d", st.Throttled)
	}
}

func TestCutConnectionAndLatency(t *testing.T) {
	s := startTest(t, nil)
	c := httpClient(s)
	req := soap("", createItem(distinguished("inbox", ""), message(mimeMsg("c", "c@x", 0), nil, stampProp("cut-1"))))

	s.SetCut(Cut{Every: 1, AfterProcessing: true, Count: 1})
	if _, err := postErr(c, s.EWSURL(), "alice", "alice-pw", req); err == nil {
		t.Fatal("the connection was not cut")
	}
	// The item was created before the cut: a retry would duplicate it unless the client dedups.
	if n := len(s.Items(aliceAddr, []string{"inbox"})); n != 1 {
		t.Errorf("%d items after a cut after processing", n)
	}
	if msgs := call(t, s, c, "alice", "alice-pw", req); msgs[0].ResponseCode != "NoError" {
		t.Errorf("after the cut: %+v", msgs)
	}

	s.SetCut(Cut{Every: 2})
	var errs int
	for range 4 {
		if _, err := postErr(c, s.EWSURL(), "alice", "alice-pw", req); err != nil {
			errs++
		}
	}
	s.SetCut(Cut{})
	if errs != 2 || s.Stats().Cut != 3 {
		t.Errorf("%d errors, %d cuts", errs, s.Stats().Cut)
	}
	if n := len(s.Items(aliceAddr, []string{"inbox"})); n != 4 {
		t.Errorf("%d items; cuts before processing must not create items", n)
	}

	s.SetLatency(80 * time.Millisecond)
	start := time.Now()
	call(t, s, c, "alice", "alice-pw", soap("", findFolderBody("Shallow", distinguished("inbox", ""), "")))
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Errorf("latency not applied: %v", d)
	}
	s.SetLatency(0)
}

func TestRequestSizeLimit(t *testing.T) {
	s := startTest(t, func(o *Options) { o.MaxRequestSize = 64 << 10 })
	c := httpClient(s)
	req := soap("", createItem(distinguished("inbox", ""), message(mimeMsg("big", "b@x", 100<<10), nil)))
	if r := post(t, c, s.EWSURL(), "alice", "alice-pw", req); r.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("HTTP %d", r.Status)
	}
	if s.MaxItemSize() != DefaultMaxItemSize {
		t.Errorf("default item limit %d", s.MaxItemSize())
	}
}

func TestHandlerUnderHTTPTest(t *testing.T) {
	h, err := NewHandler(Options{Users: testUsers(), Validator: schema(t)})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(h)
	ts.TLS = h.TLSConfig()
	ts.Config.ConnState = h.ConnState
	ts.StartTLS()
	defer ts.Close()
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: h.CertPool()}}}
	r := post(t, c, ts.URL+EWSPath, "alice", "alice-pw", soap("", findFolderBody("Shallow", distinguished("msgfolderroot", ""), "")))
	if r.Status != http.StatusOK || !strings.Contains(r.Body, "Inbox") {
		t.Fatalf("HTTP %d %s", r.Status, r.Body)
	}
	if !bytes.Equal(h.ChannelBinding(), independentCBT(h.Certificate().Raw)) {
		t.Error("ChannelBinding differs from an independent RFC 5929 computation")
	}
	sum := sha256.Sum256(h.Certificate().Raw)
	if h.CertFingerprint() != hex.EncodeToString(sum[:]) {
		t.Error("CertFingerprint")
	}
}

// TestResponsesAreSchemaValid checks the emulator's own answers against the
// EWS schema, so that a client written against the schema can read them.
func TestResponsesAreSchemaValid(t *testing.T) {
	v, err := ewsschema.New(ewsschema.Dir())
	if err != nil {
		t.Fatal(err)
	}
	s := startTest(t, nil)
	c := httpClient(s)
	check := func(name, req string) xEnvelope {
		t.Helper()
		r := post(t, c, s.EWSURL(), "admin", "Adm1n!pw", soap("", req))
		if r.Status != http.StatusOK {
			t.Fatalf("%s: HTTP %d %s", name, r.Status, r.Body)
		}
		if viol := v.Validate([]byte(r.Body)); viol != nil {
			t.Errorf("%s: response not schema-valid: %v\n%s", name, viol, r.Body)
		}
		return decode(t, r)
	}
	inbox := distinguished("inbox", aliceAddr)
	env := check("CreateItem", createItem(inbox,
		message(mimeMsg("a", "a@x", 0), ptr(true), tagProp("0x0E07", "Integer", "1"), stampProp("k")),
		message(mimeMsg("b", "b@x", 0), nil, tagProp("0x0E06", "SystemTime", "bad"))))
	id := env.Body.Response.RM.Msgs[0].Items[0].ItemID.ID
	check("CreateFolder", createFolderBody(distinguished("msgfolderroot", aliceAddr), "A", "a"))
	check("FindFolder", findFolderBody("Deep", distinguished("msgfolderroot", aliceAddr), ""))
	check("FindFolder AllProperties", `<m:FindFolder Traversal="Deep"><m:FolderShape><t:BaseShape>AllProperties</t:BaseShape></m:FolderShape><m:ParentFolderIds>`+distinguished("root", aliceAddr)+`</m:ParentFolderIds></m:FindFolder>`)
	check("GetFolder", `<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape><m:FolderIds>`+inbox+distinguished("inbox", bobAddr)+`</m:FolderIds></m:GetFolder>`)
	check("FindItem", findItemBody(inbox, "", 10, 0))
	check("FindItem AllProperties", `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="item:Flag"/>`+stampURI+
		`</t:AdditionalProperties></m:ItemShape><m:ParentFolderIds>`+inbox+`</m:ParentFolderIds></m:FindItem>`)
	check("GetItem", `<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape><t:IncludeMimeContent>true</t:IncludeMimeContent><t:AdditionalProperties>`+
		`<t:ExtendedFieldURI PropertyTag="0x0E07" PropertyType="Integer"/><t:ExtendedFieldURI PropertyTag="0x0E06" PropertyType="SystemTime"/>`+stampURI+
		`</t:AdditionalProperties></m:ItemShape><m:ItemIds><t:ItemId Id="`+id+`"/><t:ItemId Id="bad"/></m:ItemIds></m:GetItem>`)
	s.SetThrottle(Throttle{Kind: ThrottleServerBusyItems, BackOff: time.Second})
	check("per-item ErrorServerBusy", createItem(inbox, message(mimeMsg("c", "c@x", 0), nil)))
	check("per-item ErrorServerBusy GetFolder", `<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape><m:FolderIds>`+inbox+`</m:FolderIds></m:GetFolder>`)
	check("per-item ErrorServerBusy FindItem", findItemBody(inbox, "", 10, 0))
	check("per-item ErrorServerBusy CreateFolder", createFolderBody(inbox, "B"))
	s.SetThrottle(Throttle{})
	check("FindItem error", findItemBody(distinguished("inbox", bobAddr), "", 10, 0))
}

func TestMaxConcurrency(t *testing.T) {
	s := startTest(t, nil)
	s.SetMaxConcurrency(2)
	s.SetLatency(2 * time.Second)
	req := soap("", findFolderBody("Shallow", distinguished("inbox", ""), ""))
	first := make(chan int, 2)
	for range 2 {
		go func() {
			r, err := postErr(httpClient(s), s.EWSURL(), "alice", "alice-pw", req)
			if err != nil {
				first <- -1
				return
			}
			first <- r.Status
		}()
	}
	// Wait until both are admitted and held by the latency.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		s.faults.mu.Lock()
		n := s.faults.inFlight["alice"]
		s.faults.mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d requests in flight", n)
		}
	}
	for range 2 {
		r := post(t, httpClient(s), s.EWSURL(), "alice", "alice-pw", req)
		var env xEnvelope
		if err := xmlUnmarshal(r.Body, &env); err != nil || r.Status != http.StatusInternalServerError ||
			env.Body.Fault == nil || env.Body.Fault.Detail.ResponseCode != "ErrorExceededConnectionCount" {
			t.Errorf("third request: HTTP %d %s", r.Status, r.Body)
		}
	}
	for range 2 {
		if st := <-first; st != http.StatusOK {
			t.Errorf("admitted request: HTTP %d", st)
		}
	}
	// Another account has its own budget.
	s.SetLatency(0)
	if r := post(t, httpClient(s), s.EWSURL(), "bob", "bob-pw", req); r.Status != http.StatusOK {
		t.Errorf("bob: HTTP %d", r.Status)
	}
}

func xmlUnmarshal(s string, v any) error { return xml.Unmarshal([]byte(s), v) }
