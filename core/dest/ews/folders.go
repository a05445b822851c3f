package ews

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/mailferry/mailferry/core/dest/exchange"
	"github.com/mailferry/mailferry/core/mailbox"
)

func isMailClass(c string) bool {
	return c == "" || c == "IPF.Note" || strings.HasPrefix(c, "IPF.Note.")
}

// EnsureFolder implements mailbox.Destination. A top-level folder with a
// well-known role (or INBOX) maps to its distinguished folder; everything
// else is found or created under msgfolderroot, or under the well-known
// folder its top-level parent was mapped to (INBOX/Sub → Inbox/Sub).
// Names match case-insensitively; a non-mail folder (Calendar, Contacts…)
// with the wanted name gets a sibling "<name> (mail)" instead.
func (d *Destination) EnsureFolder(ctx context.Context, path []string, role string, subscribe bool) (mailbox.FolderRef, error) {
	if len(path) == 0 {
		return mailbox.FolderRef{}, errors.New("ews: empty folder path")
	}
	d.fmu.Lock()
	defer d.fmu.Unlock()
	top := strings.ToLower(path[0])
	if wk := exchange.WellKnown[role]; wk != "" && len(path) == 1 {
		d.topRole[top] = wk
		return mailbox.FolderRef{ID: "wk:" + wk, Path: path}, nil
	}
	root, rest := "msgfolderroot", path
	if wk, ok := d.topRole[top]; ok {
		root, rest = wk, path[1:]
	} else if top == "inbox" {
		root, rest = "inbox", path[1:]
	}
	if len(rest) == 0 {
		return mailbox.FolderRef{ID: "wk:" + root, Path: path}, nil
	}
	node, err := d.tree(ctx, root)
	if err != nil {
		return mailbox.FolderRef{}, err
	}
	for _, name := range rest {
		if strings.TrimSpace(name) == "" {
			return mailbox.FolderRef{}, fmt.Errorf("ews: empty folder name in %q", strings.Join(path, "/"))
		}
		next := node.Child(name)
		if next != nil && !isMailClass(next.Class) {
			name += " (mail)"
			next = node.Child(name)
		}
		if next == nil {
			if next, err = d.createFolder(ctx, node, name, 0); err != nil {
				return mailbox.FolderRef{}, fmt.Errorf("ews: creating folder %q: %w", strings.Join(path, "/"), err)
			}
		}
		node = next
	}
	return mailbox.FolderRef{ID: node.ID, Path: path}, nil
}

// tree returns the cached folder tree under a distinguished folder,
// loading it with one paged Deep FindFolder.
func (d *Destination) tree(ctx context.Context, wk string) (*exchange.Folder, error) {
	if n := d.trees[wk]; n != nil {
		return n, nil
	}
	all, err := d.findFolders(ctx, "wk:"+wk, "Deep")
	if err != nil {
		return nil, fmt.Errorf("ews: listing folders under %s: %w", wk, err)
	}
	root := &exchange.Folder{ID: "wk:" + wk, Loaded: true}
	byID := map[string]*exchange.Folder{}
	for _, f := range all {
		byID[f.FolderID.ID] = &exchange.Folder{ID: f.FolderID.ID, Name: f.DisplayName, Class: f.FolderClass, Loaded: true}
	}
	for _, f := range all {
		n := byID[f.FolderID.ID]
		if p := byID[f.ParentID.ID]; p != nil && p != n {
			p.Children = append(p.Children, n)
		} else {
			root.Children = append(root.Children, n)
		}
	}
	d.trees[wk] = root
	return root, nil
}

// findFolders pages through FindFolder under parent.
func (d *Destination) findFolders(ctx context.Context, parent, traversal string) ([]respFolder, error) {
	var out []respFolder
	for offset := 0; ; {
		env, err := d.soap(ctx, "FindFolder", true, func(w *xw) {
			w.open("m:FindFolder", "Traversal", traversal)
			w.open("m:FolderShape")
			w.elem("t:BaseShape", "IdOnly")
			w.open("t:AdditionalProperties")
			w.empty("t:FieldURI", "FieldURI", "folder:DisplayName")
			w.empty("t:FieldURI", "FieldURI", "folder:ParentFolderId")
			w.empty("t:FieldURI", "FieldURI", "folder:FolderClass")
			w.close("t:AdditionalProperties")
			w.close("m:FolderShape")
			w.empty("m:IndexedPageFolderView", "MaxEntriesReturned", itoa(d.pageSize), "Offset", itoa(offset), "BasePoint", "Beginning")
			w.open("m:ParentFolderIds")
			d.folderID(w, parent)
			w.close("m:ParentFolderIds")
			w.close("m:FindFolder")
		})
		if err != nil {
			return nil, err
		}
		m, err := single(env, "FindFolder")
		if err != nil {
			return nil, err
		}
		page := m.Root.Folders.List
		out = append(out, page...)
		if m.Root.Last || len(page) == 0 {
			return out, nil
		}
		offset += len(page)
		if m.Root.Offset > offset {
			offset = m.Root.Offset
		}
	}
}

// single returns the only response message, or its error.
func single(env *respEnvelope, op string) (respMessage, error) {
	ms := env.Body.Op.Messages.List
	if len(ms) == 0 {
		return respMessage{}, fmt.Errorf("EWS %s: empty response", op)
	}
	return ms[0], ms[0].err(op)
}

func (d *Destination) createFolder(ctx context.Context, parent *exchange.Folder, name string, tries int) (*exchange.Folder, error) {
	env, err := d.soap(ctx, "CreateFolder", false, func(w *xw) {
		w.open("m:CreateFolder")
		w.open("m:ParentFolderId")
		d.folderID(w, parent.ID)
		w.close("m:ParentFolderId")
		w.open("m:Folders")
		w.open("t:Folder")
		w.elem("t:FolderClass", "IPF.Note")
		w.elem("t:DisplayName", name)
		w.close("t:Folder")
		w.close("m:Folders")
		w.close("m:CreateFolder")
	})
	var re *ResponseError
	if err == nil {
		m, merr := single(env, "CreateFolder")
		if merr == nil && len(m.Folders.List) > 0 && m.Folders.List[0].FolderID.ID != "" {
			n := &exchange.Folder{ID: m.Folders.List[0].FolderID.ID, Name: name, Class: "IPF.Note", Loaded: true}
			parent.Children = append(parent.Children, n)
			return n, nil
		}
		if merr == nil {
			merr = errors.New("EWS CreateFolder: no FolderId in the response")
		}
		err = merr
	}
	// ErrorFolderExists (someone else created it, or an earlier attempt
	// whose answer was lost) and unknown outcomes: look again.
	if !(errors.As(err, &re) && re.Code == "ErrorFolderExists") && !errors.Is(err, ErrOutcomeUnknown) {
		return nil, err
	}
	kids, ferr := d.findFolders(ctx, parent.ID, "Shallow")
	if ferr != nil {
		return nil, fmt.Errorf("%w (and re-listing failed: %v)", err, ferr)
	}
	old := map[string]*exchange.Folder{}
	for _, c := range parent.Children {
		old[c.ID] = c
	}
	parent.Children = parent.Children[:0]
	for _, f := range kids {
		n := old[f.FolderID.ID]
		if n == nil {
			n = &exchange.Folder{ID: f.FolderID.ID, Name: f.DisplayName, Class: f.FolderClass}
		}
		parent.Children = append(parent.Children, n)
	}
	if n := parent.Child(name); n != nil {
		return n, nil
	}
	if errors.Is(err, ErrOutcomeUnknown) && tries < 3 {
		return d.createFolder(ctx, parent, name, tries+1)
	}
	return nil, fmt.Errorf("%w, but no folder %q is listed under its parent", err, name)
}
