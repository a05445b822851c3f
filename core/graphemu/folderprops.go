package graphemu

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
)

// patchFolder updates a mail folder: its display name and its
// single-value extended properties (Graph documents creating and updating
// them with a PATCH of the mailFolder, as for a message:
// https://learn.microsoft.com/en-us/graph/api/singlevaluelegacyextendedproperty-post-singlevalueextendedproperties).
func (s *Server) patchFolder(rec *response, r *req, f *folder) {
	var in struct {
		DisplayName *string `json:"displayName"`
		Props       []struct {
			ID    string `json:"id"`
			Value string `json:"value"`
		} `json:"singleValueExtendedProperties"`
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &keys); err != nil || json.Unmarshal(r.body, &in) != nil {
		rec.err(gerr(http.StatusBadRequest, "RequestBodyRead", "Invalid JSON."))
		return
	}
	for k := range keys {
		if k != "displayName" && k != "singleValueExtendedProperties" && !strings.HasPrefix(k, "@odata") {
			rec.err(gerr(http.StatusBadRequest, "RequestBodyRead", "The property '%s' cannot be updated on type 'microsoft.graph.mailFolder'.", k))
			return
		}
	}
	canon := map[string]string{}
	for _, p := range in.Props {
		c, typ, err := canonPropID(p.ID)
		if err != nil {
			rec.err(gerr(http.StatusBadRequest, "ErrorInvalidProperty", "%v", err))
			return
		}
		if err := checkPropValue(typ, p.Value); err != nil {
			rec.err(gerr(http.StatusBadRequest, "ErrorInvalidExtendedPropertyValue", "The value '%s' is not valid for extended property '%s'.", p.Value, p.ID))
			return
		}
		canon[c] = p.Value
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if in.DisplayName != nil {
		if strings.TrimSpace(*in.DisplayName) == "" {
			rec.err(gerr(http.StatusBadRequest, "ErrorInvalidRequest", "The folder name cannot be empty."))
			return
		}
		f.name = *in.DisplayName
	}
	if f.props == nil {
		f.props = map[string]string{}
	}
	for c, v := range canon {
		f.props[c] = v
	}
	rec.json(http.StatusOK, s.folderJSON(r, f))
}

// FolderProp returns an extended property of a folder (by path from the
// root, "" = root, well-known names allowed for the first segment).
func (s *Server) FolderProp(upn, folderPath, id string) (string, bool) {
	c, _, err := canonPropID(id)
	if err != nil {
		return "", false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	m, err := s.mailboxLocked(upn)
	if err != nil {
		return "", false
	}
	f := m.resolvePath(folderPath)
	if f == nil {
		return "", false
	}
	v, ok := f.props[c]
	return v, ok
}

// policyAllows applies the app's application access policy, if any.
func (s *Server) policyAllows(clientID, upn string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := s.apps[strings.ToLower(clientID)]
	if a == nil || a.AllowedMailboxes == nil {
		return true
	}
	return slices.ContainsFunc(a.AllowedMailboxes, func(x string) bool { return strings.EqualFold(x, upn) })
}
