package ewsemu

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
)

type findFolderReq struct {
	Traversal             string       `xml:"Traversal,attr"`
	FolderShape           shape        `xml:"http://schemas.microsoft.com/exchange/services/2006/messages FolderShape"`
	IndexedPageFolderView *indexedView `xml:"http://schemas.microsoft.com/exchange/services/2006/messages IndexedPageFolderView"`
	Restriction           *searchExpr  `xml:"http://schemas.microsoft.com/exchange/services/2006/messages Restriction"`
	ParentFolderIDs       folderRefs   `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ParentFolderIds"`
}

type getFolderReq struct {
	FolderShape shape      `xml:"http://schemas.microsoft.com/exchange/services/2006/messages FolderShape"`
	FolderIDs   folderRefs `xml:"http://schemas.microsoft.com/exchange/services/2006/messages FolderIds"`
}

type createFolderReq struct {
	ParentFolderID folderRefs `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ParentFolderId"`
	Folders        struct {
		Folders []newFolder `xml:",any"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages Folders"`
}

type newFolder struct {
	XMLName     xml.Name
	FolderClass string `xml:"http://schemas.microsoft.com/exchange/services/2006/types FolderClass"`
	DisplayName string `xml:"http://schemas.microsoft.com/exchange/services/2006/types DisplayName"`
}

func (s *Server) findFolder(rc *reqCtx, req *findFolderReq, b *bytes.Buffer) *soapFault {
	s.mu.RLock()
	defer s.mu.RUnlock()
	openResponse(b, "FindFolder")
	for _, ref := range req.ParentFolderIDs {
		s.findFolderIn(rc, req, ref, b)
	}
	closeResponse(b, "FindFolder")
	return nil
}

func (s *Server) findFolderIn(rc *reqCtx, req *findFolderReq, ref folderRef, b *bytes.Buffer) {
	const name = "FindFolderResponseMessage"
	parent, e := s.resolveFolderLocked(rc, ref)
	if e != nil {
		e.open(b, name)
		b.WriteString("</m:" + name + ">")
		return
	}
	var list []*folder
	switch req.Traversal {
	case "Deep":
		list = parent.descendants(nil)
	case "SoftDeleted":
		// nothing is ever soft-deleted here
	default:
		list = append(list, parent.children...)
	}
	if req.Restriction != nil {
		var kept []*folder
		for _, f := range list {
			m, err := req.Restriction.eval(f.getter(), true)
			if err != nil {
				e := errMsg("ErrorUnsupportedPathForQuery", "The EWS emulator does not support this property in a restriction: "+err.Error())
				e.open(b, name)
				b.WriteString("</m:" + name + ">")
				return
			}
			if m {
				kept = append(kept, f)
			}
		}
		list = kept
	}
	page, offset, last := pageOf(len(list), req.IndexedPageFolderView, s.opts.FindCountLimit)
	m := ok()
	m.open(b, name)
	fmt.Fprintf(b, `<m:RootFolder IndexedPagingOffset="%d" TotalItemsInView="%d" IncludesLastItemInRange="%t"><t:Folders>`,
		offset, len(list), last)
	for _, f := range list[page[0]:page[1]] {
		s.writeFolder(b, f, req.FolderShape)
	}
	b.WriteString(`</t:Folders></m:RootFolder></m:` + name + `>`)
}

// pageOf applies an IndexedPage*View (nil: from the start) and the find
// count limit. It returns the slice bounds, the next IndexedPagingOffset and
// IncludesLastItemInRange.
func pageOf(total int, v *indexedView, limit int) (bounds [2]int, next int, last bool) {
	max, off, fromEnd := limit, 0, false
	if v != nil {
		if v.MaxEntriesReturned > 0 && v.MaxEntriesReturned < max {
			max = v.MaxEntriesReturned
		}
		off = v.Offset
		fromEnd = v.BasePoint == "End"
	}
	start := off
	if fromEnd {
		start = total - off - max
		if start < 0 {
			start = 0
		}
	}
	if start > total {
		start = total
	}
	end := start + max
	if fromEnd {
		end = total - off
		if end < start {
			end = start
		}
	}
	if end > total {
		end = total
	}
	if fromEnd {
		return [2]int{start, end}, off + (end - start), start == 0
	}
	return [2]int{start, end}, end, end >= total
}

func (f *folder) getter() propGetter {
	return func(p pathSpec) (string, bool, error) {
		if p.Ext != nil {
			return "", false, nil // folders carry no extended properties here
		}
		switch strings.ToLower(p.FieldURI) {
		case "folder:displayname":
			return f.name, true, nil
		case "folder:folderclass":
			return f.class, f.class != "", nil
		case "folder:totalcount":
			return strconv.Itoa(len(f.items)), true, nil
		case "folder:childfoldercount":
			return strconv.Itoa(len(f.children)), true, nil
		case "folder:unreadcount":
			return strconv.Itoa(f.unread()), true, nil
		case "folder:parentfolderid":
			if f.parent == nil {
				return "", false, nil
			}
			return f.parent.id, true, nil
		}
		return "", false, fmt.Errorf("%s", p.FieldURI)
	}
}

// writeFolder writes a folder in schema element order for the shape.
func (s *Server) writeFolder(b *bytes.Buffer, f *folder, sh shape) {
	base := strings.ToLower(sh.BaseShape)
	all := base == "allproperties"
	def := base == "default" || all
	want := func(uri string, inDefault bool) bool {
		return all || (def && inDefault) || sh.wantsField(uri)
	}
	fmt.Fprintf(b, `<t:%s><t:FolderId Id="%s" ChangeKey="%s"/>`, f.elem, f.id, f.changeKey)
	if f.parent != nil && want("folder:ParentFolderId", false) {
		fmt.Fprintf(b, `<t:ParentFolderId Id="%s" ChangeKey="%s"/>`, f.parent.id, f.parent.changeKey)
	}
	if f.class != "" && want("folder:FolderClass", false) {
		fmt.Fprintf(b, `<t:FolderClass>%s</t:FolderClass>`, esc(f.class))
	}
	if want("folder:DisplayName", true) {
		fmt.Fprintf(b, `<t:DisplayName>%s</t:DisplayName>`, esc(f.name))
	}
	if want("folder:TotalCount", true) {
		fmt.Fprintf(b, `<t:TotalCount>%d</t:TotalCount>`, len(f.items))
	}
	if want("folder:ChildFolderCount", true) {
		fmt.Fprintf(b, `<t:ChildFolderCount>%d</t:ChildFolderCount>`, len(f.children))
	}
	if f.distinguished != "" && f.distinguished != "root" && sh.wantsField("folder:DistinguishedFolderId") {
		fmt.Fprintf(b, `<t:DistinguishedFolderId>%s</t:DistinguishedFolderId>`, f.distinguished)
	}
	if (f.elem == "Folder" || f.elem == "TasksFolder") && want("folder:UnreadCount", true) {
		fmt.Fprintf(b, `<t:UnreadCount>%d</t:UnreadCount>`, f.unread())
	}
	fmt.Fprintf(b, `</t:%s>`, f.elem)
}

func (s *Server) getFolder(rc *reqCtx, req *getFolderReq, b *bytes.Buffer) *soapFault {
	s.mu.RLock()
	defer s.mu.RUnlock()
	openResponse(b, "GetFolder")
	for _, ref := range req.FolderIDs {
		f, e := s.resolveFolderLocked(rc, ref)
		if e != nil {
			e.open(b, "GetFolderResponseMessage")
			b.WriteString("<m:Folders/></m:GetFolderResponseMessage>")
			continue
		}
		m := ok()
		m.open(b, "GetFolderResponseMessage")
		b.WriteString("<m:Folders>")
		s.writeFolder(b, f, req.FolderShape)
		b.WriteString("</m:Folders></m:GetFolderResponseMessage>")
	}
	closeResponse(b, "GetFolder")
	return nil
}

func (s *Server) createFolder(rc *reqCtx, req *createFolderReq, b *bytes.Buffer) *soapFault {
	s.mu.Lock()
	defer s.mu.Unlock()
	openResponse(b, "CreateFolder")
	var parent *folder
	var perr *respMsg
	if len(req.ParentFolderID) != 1 {
		m := errMsg("ErrorParentFolderIdRequired", "Parent folder id is required for the operation.")
		perr = &m
	} else {
		parent, perr = s.resolveFolderLocked(rc, req.ParentFolderID[0])
		if perr != nil && perr.Code == "ErrorFolderNotFound" {
			perr.Code, perr.Text = "ErrorParentFolderNotFound", "Parent folder not found."
		}
	}
	for _, nf := range req.Folders.Folders {
		if perr != nil {
			perr.open(b, "CreateFolderResponseMessage")
			b.WriteString("<m:Folders/></m:CreateFolderResponseMessage>")
			continue
		}
		name := nf.DisplayName
		if strings.TrimSpace(name) == "" {
			e := errMsg("ErrorInvalidFolderId", "A folder display name is required.")
			e.open(b, "CreateFolderResponseMessage")
			b.WriteString("<m:Folders/></m:CreateFolderResponseMessage>")
			continue
		}
		if parent.childByName(name) != nil {
			e := errMsg("ErrorFolderExists", "A folder with the specified name already exists.")
			e.open(b, "CreateFolderResponseMessage")
			b.WriteString("<m:Folders/></m:CreateFolderResponseMessage>")
			continue
		}
		elem, class := nf.XMLName.Local, nf.FolderClass
		if class == "" {
			switch elem {
			case "CalendarFolder":
				class = "IPF.Appointment"
			case "ContactsFolder":
				class = "IPF.Contact"
			case "TasksFolder":
				class = "IPF.Task"
			default:
				class = "IPF.Note"
			}
		}
		if elem == "SearchFolder" {
			elem = "Folder"
		}
		f := s.addFolderLocked(parent, name, class, elem)
		m := ok()
		m.open(b, "CreateFolderResponseMessage")
		fmt.Fprintf(b, `<m:Folders><t:%s><t:FolderId Id="%s" ChangeKey="%s"/></t:%s></m:Folders></m:CreateFolderResponseMessage>`,
			f.elem, f.id, f.changeKey, f.elem)
	}
	closeResponse(b, "CreateFolder")
	return nil
}
