package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/mailferry/mailferry/core/dest/exchange"
	"github.com/mailferry/mailferry/core/mailbox"
)

// wellKnown maps a source special-use role to a Graph well-known folder
// name: Exchange's (exchange.WellKnown) and "archive", the primary
// mailbox's Archive folder (Outlook's one-click Archive), not the archive
// mailbox: Graph documents it among the well-known folder names of
// mailFolder
// (https://learn.microsoft.com/en-us/graph/api/resources/mailfolder).
// EWS has no distinguished id for it on premises, so the EWS destination
// keeps a top-level "Archive" folder.
var wellKnown = func() map[string]string {
	m := maps.Clone(exchange.WellKnown)
	m[mailbox.RoleArchive] = "archive"
	return m
}()

type apiFolder struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
}

// EnsureFolder implements mailbox.Destination. A top-level folder with a
// well-known role (or INBOX) maps to its well-known folder; everything else
// is found or created under msgfolderroot, or under the well-known folder
// its top-level parent was mapped to (INBOX/Sub → Inbox/Sub). Names match
// case-insensitively, as in Exchange; a 409 ErrorFolderExists (another
// writer was faster) finds the folder again.
func (d *Destination) EnsureFolder(ctx context.Context, path []string, role string, subscribe bool) (mailbox.FolderRef, error) {
	if len(path) == 0 {
		return mailbox.FolderRef{}, errors.New("graph: empty folder path")
	}
	d.fmu.Lock()
	defer d.fmu.Unlock()
	top := strings.ToLower(path[0])
	root, rest := "msgfolderroot", path
	if wk := wellKnown[role]; wk != "" && len(path) == 1 {
		d.topRole[top] = wk
		root, rest = wk, nil
	} else if wk, ok := d.topRole[top]; ok {
		root, rest = wk, path[1:]
	} else if top == "inbox" {
		root, rest = "inbox", path[1:]
	}
	node, err := d.wellKnownNode(ctx, root)
	if err != nil {
		return mailbox.FolderRef{}, fmt.Errorf("graph: folder %s: %w", root, err)
	}
	for _, name := range rest {
		if strings.TrimSpace(name) == "" {
			return mailbox.FolderRef{}, fmt.Errorf("graph: empty folder name in %q", strings.Join(path, "/"))
		}
		if err := d.loadChildren(ctx, node, false); err != nil {
			return mailbox.FolderRef{}, fmt.Errorf("graph: listing folders of %q: %w", strings.Join(path, "/"), err)
		}
		next := node.Child(name)
		if next == nil {
			if next, err = d.createFolder(ctx, node, name, 0); err != nil {
				return mailbox.FolderRef{}, fmt.Errorf("graph: creating folder %q: %w", strings.Join(path, "/"), err)
			}
		}
		node = next
	}
	return mailbox.FolderRef{ID: node.ID, Path: path}, nil
}

// wellKnownNode resolves a well-known folder name to its node (one GET).
func (d *Destination) wellKnownNode(ctx context.Context, wk string) (*exchange.Folder, error) {
	if id, ok := d.wkIDs[wk]; ok {
		return d.nodes[id], nil
	}
	b, err := d.do(ctx, call{method: http.MethodGet, url: d.userURL("/mailFolders/" + wk + "?$select=id,displayName"), idempotent: true})
	if err != nil {
		return nil, err
	}
	var f apiFolder
	if err := json.Unmarshal(b, &f); err != nil || f.ID == "" {
		return nil, fmt.Errorf("unexpected answer for the %s folder", wk)
	}
	n := d.nodes[f.ID]
	if n == nil {
		n = &exchange.Folder{ID: f.ID, Name: f.DisplayName}
		d.nodes[f.ID] = n
	}
	d.wkIDs[wk] = f.ID
	return n, nil
}

// loadChildren lists a folder's children (all pages) once, or again when
// reload is set.
func (d *Destination) loadChildren(ctx context.Context, n *exchange.Folder, reload bool) error {
	if n.Loaded && !reload {
		return nil
	}
	var kids []*exchange.Folder
	next := d.userURL("/mailFolders/" + url.PathEscape(n.ID) + "/childFolders?$select=id,displayName&$top=" + strconv.Itoa(min(d.pageSize, 250)))
	for next != "" {
		b, err := d.do(ctx, call{method: http.MethodGet, url: next, idempotent: true})
		if err != nil {
			return err
		}
		var page struct {
			Value    []apiFolder `json:"value"`
			NextLink string      `json:"@odata.nextLink"`
		}
		if err := json.Unmarshal(b, &page); err != nil {
			return fmt.Errorf("unexpected folder listing: %w", err)
		}
		for _, f := range page.Value {
			c := d.nodes[f.ID]
			if c == nil {
				c = &exchange.Folder{ID: f.ID}
				d.nodes[f.ID] = c
			}
			c.Name = f.DisplayName
			kids = append(kids, c)
		}
		next = page.NextLink
	}
	n.Children, n.Loaded = kids, true
	return nil
}

func (d *Destination) createFolder(ctx context.Context, parent *exchange.Folder, name string, tries int) (*exchange.Folder, error) {
	body, _ := json.Marshal(map[string]any{"displayName": name})
	b, err := d.do(ctx, call{method: http.MethodPost, url: d.userURL("/mailFolders/" + url.PathEscape(parent.ID) + "/childFolders"), body: body})
	var ae *APIError
	if (errors.As(err, &ae) && ae.Code == "ErrorFolderExists") || errors.Is(err, ErrOutcomeUnknown) {
		// Someone else created it (or our own request went through).
		if lerr := d.loadChildren(ctx, parent, true); lerr != nil {
			return nil, fmt.Errorf("%w (and listing again failed: %v)", err, lerr)
		}
		if c := parent.Child(name); c != nil {
			return c, nil
		}
		if errors.Is(err, ErrOutcomeUnknown) && tries < 3 {
			return d.createFolder(ctx, parent, name, tries+1)
		}
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	var f apiFolder
	if err := json.Unmarshal(b, &f); err != nil || f.ID == "" {
		return nil, errors.New("unexpected answer to the folder creation")
	}
	n := &exchange.Folder{ID: f.ID, Name: f.DisplayName, Loaded: true}
	d.nodes[f.ID] = n
	parent.Children = append(parent.Children, n)
	return n, nil
}
