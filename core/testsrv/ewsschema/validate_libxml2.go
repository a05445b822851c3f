//go:build cgo

package ewsschema

/*
#cgo pkg-config: libxml-2.0
#include <stdlib.h>
#include <string.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlschemas.h>
#include <libxml/xmlerror.h>

typedef struct {
	char msg[512];
	int line;
	int col;
	int set;
} mf_err_t;

static void mf_record(mf_err_t *e, const char *msg, int line, int col) {
	if (e->set) return;
	e->set = 1;
	e->line = line;
	e->col = col;
	if (msg == NULL) msg = "unknown error";
	strncpy(e->msg, msg, sizeof(e->msg) - 1);
	e->msg[sizeof(e->msg) - 1] = 0;
	size_t n = strlen(e->msg);
	while (n > 0 && (e->msg[n-1] == '\n' || e->msg[n-1] == ' ')) e->msg[--n] = 0;
}

static void mf_structured(void *ctx, void *err) {
	xmlErrorPtr x = (xmlErrorPtr)err;
	mf_record((mf_err_t *)ctx, x->message, x->line, x->int2);
}

static void mf_silent(void *ctx, const char *msg, ...) { (void)ctx; (void)msg; }

static xmlSchemaPtr mf_compile(const char *path, mf_err_t *e) {
	xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt(path);
	if (pc == NULL) { mf_record(e, "cannot create schema parser context", 0, 0); return NULL; }
	xmlSchemaSetParserStructuredErrors(pc, (xmlStructuredErrorFunc)mf_structured, e);
	xmlSchemaPtr s = xmlSchemaParse(pc);
	xmlSchemaFreeParserCtxt(pc);
	return s;
}

#define MF_SOAP11 "http://schemas.xmlsoap.org/soap/envelope/"

static int mf_is(xmlNodePtr n, const char *ns, const char *name) {
	return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL && n->ns->href != NULL &&
		strcmp((const char *)n->ns->href, ns) == 0 && strcmp((const char *)n->name, name) == 0;
}

// mf_exchange_ns reports whether an element is in an Exchange namespace
// (including the mistaken https:// spelling, which must be rejected).
static int mf_exchange_ns(xmlNodePtr n) {
	if (n->ns == NULL || n->ns->href == NULL) return 1;
	const char *h = (const char *)n->ns->href;
	return strncmp(h, "http://schemas.microsoft.com/exchange/", 38) == 0 ||
		strncmp(h, "https://schemas.microsoft.com/exchange/", 39) == 0;
}

static int mf_validate_children(xmlSchemaValidCtxtPtr vc, xmlNodePtr parent, int header, mf_err_t *e) {
	for (xmlNodePtr c = parent->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE) continue;
		// Header blocks of other specifications (WS-Addressing, ...) are not
		// EWS's business; the body payload is always validated.
		if (header && !mf_exchange_ns(c)) continue;
		int rc = xmlSchemaValidateOneElement(vc, c);
		if (rc != 0) {
			mf_record(e, "element is not valid", (int)c->line, 0);
			return 1;
		}
	}
	return 0;
}

// mf_validate returns 0 when valid, 1 when a header block or the body payload
// fails schema validation, 2 when the document is not well-formed XML and 3
// when it is not a SOAP 1.1 envelope with a body.
static int mf_validate(xmlSchemaPtr schema, const char *buf, int len, mf_err_t *e) {
	xmlParserCtxtPtr pc = xmlNewParserCtxt();
	if (pc == NULL) { mf_record(e, "out of memory", 0, 0); return 2; }
	xmlDocPtr doc = xmlCtxtReadMemory(pc, buf, len, "request.xml", NULL,
		XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL) {
		xmlErrorPtr x = xmlCtxtGetLastError(pc);
		if (x != NULL) mf_record(e, x->message, x->line, x->int2);
		else mf_record(e, "document is not well-formed", 0, 0);
		xmlFreeParserCtxt(pc);
		return 2;
	}
	xmlFreeParserCtxt(pc);
	int rc = 0;
	xmlNodePtr root = xmlDocGetRootElement(doc);
	if (!mf_is(root, MF_SOAP11, "Envelope")) {
		mf_record(e, "the root element is not a SOAP 1.1 Envelope (namespace http://schemas.xmlsoap.org/soap/envelope/)", root ? (int)root->line : 1, 0);
		xmlFreeDoc(doc);
		return 3;
	}
	xmlNodePtr header = NULL, body = NULL;
	for (xmlNodePtr c = root->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE) continue;
		if (header == NULL && body == NULL && mf_is(c, MF_SOAP11, "Header")) { header = c; continue; }
		if (body == NULL && mf_is(c, MF_SOAP11, "Body")) { body = c; continue; }
		mf_record(e, "unexpected element in the SOAP Envelope", (int)c->line, 0);
		xmlFreeDoc(doc);
		return 3;
	}
	if (body == NULL) {
		mf_record(e, "the SOAP Envelope has no Body", (int)root->line, 0);
		xmlFreeDoc(doc);
		return 3;
	}
	xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(schema);
	if (vc == NULL) { mf_record(e, "out of memory", 0, 0); xmlFreeDoc(doc); return 2; }
	xmlSchemaSetValidStructuredErrors(vc, (xmlStructuredErrorFunc)mf_structured, e);
	if (header != NULL) rc = mf_validate_children(vc, header, 1, e);
	if (rc == 0) rc = mf_validate_children(vc, body, 0, e);
	xmlSchemaFreeValidCtxt(vc);
	xmlFreeDoc(doc);
	return rc;
}

static void mf_init(void) {
	xmlInitParser();
	xmlSetGenericErrorFunc(NULL, (xmlGenericErrorFunc)mf_silent);
}
*/
import "C"

import (
	"fmt"
	"path/filepath"
	"sync"
	"unsafe"
)

var (
	libxmlOnce sync.Once
	schemaMu   sync.Mutex
	schemas    = map[string]*Validator{}
)

// Validator validates SOAP requests with a schema compiled once by
// libxml2. A compiled xmlSchema is read-only and may be shared by
// goroutines; each validation uses its own parser and validation context.
type Validator struct {
	schema C.xmlSchemaPtr
}

// New compiles (once per process and directory) the schema
// ews-validate.xsd found in dir (normally Dir()).
func New(dir string) (*Validator, error) {
	libxmlOnce.Do(func() { C.mf_init() })
	abs, err := filepath.Abs(filepath.Join(dir, "ews-validate.xsd"))
	if err != nil {
		return nil, fmt.Errorf("schema path: %w", err)
	}
	schemaMu.Lock()
	defer schemaMu.Unlock()
	if v, ok := schemas[abs]; ok {
		return v, nil
	}
	cpath := C.CString(abs)
	defer C.free(unsafe.Pointer(cpath))
	var e C.mf_err_t
	s := C.mf_compile(cpath, &e)
	if s == nil {
		return nil, fmt.Errorf("compile EWS schema %s: %s (line %d)", abs, C.GoString(&e.msg[0]), int(e.line))
	}
	v := &Validator{schema: s}
	schemas[abs] = v // kept for the life of the process, like Exchange's compiled schema
	return v, nil
}

// Validate returns a *Violation for the first problem of body: not
// well-formed XML, not a SOAP 1.1 envelope with a Body, or a header block
// or body payload the schema refuses. It returns nil when body is valid.
func (v *Validator) Validate(body []byte) error {
	if len(body) == 0 {
		return &Violation{Line: 0, Pos: 0, Reason: "Root element is missing."}
	}
	var e C.mf_err_t
	buf := C.CBytes(body)
	defer C.free(buf)
	rc := C.mf_validate(v.schema, (*C.char)(buf), C.int(len(body)), &e)
	if rc == 0 {
		return nil
	}
	return &Violation{Line: int(e.line), Pos: int(e.col), Reason: C.GoString(&e.msg[0])}
}
