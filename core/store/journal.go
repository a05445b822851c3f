package store

// The migration journal (owned by the engine; see core/engine).
//
// Layout, inside each project's bucket:
//
//	journal/
//	    <user id>/
//	        passes/               8-byte big-endian seq → JSON PassRecord
//	        daily/                UTC day → bytes downloaded (daily.go)
//	        folders/
//	            <source folder>/
//	                meta          JSON FolderMeta (UIDVALIDITY seen, counters)
//	                done/         message Key → destination id ("" if unknown),
//	                              optionally followed by NUL and the flags
//	                              as migrated (see FlagSet; absent in
//	                              journals written before flags were kept)
//	                cdone/        ContentKey → 4-byte big-endian count
//	                failed/       message Key → JSON FailedItem
//
// Everything about one destination batch (done keys, failed keys, pass
// counters) is written in one bbolt transaction by Commit, which the
// engine calls right after each Put returns: a kill -9 loses at most the
// batch in flight, and destination dedup catches even that.

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"go.etcd.io/bbolt"

	"github.com/mailferry/mailferry/core/mailbox"
	"github.com/mailferry/mailferry/core/project"
)

var (
	bucketJournal = []byte("journal")
	bucketPasses  = []byte("passes")
	bucketFolders = []byte("folders")
	bucketDone    = []byte("done")
	bucketCDone   = []byte("cdone")
	bucketFailed  = []byte("failed")
	keyMeta       = []byte("meta")
)

// Journal is the engine's per project/user/folder checkpoint.
type Journal struct{ db *bbolt.DB }

// Journal returns the store's migration journal.
func (s *Store) Journal() *Journal { return &Journal{db: s.db} }

// FolderMeta is what the journal keeps about one source folder.
type FolderMeta struct {
	UIDValidity uint32 `json:"uidvalidity"`
	Items       int64  `json:"items"` // messages at the destination thanks to us
	Bytes       int64  `json:"bytes"`
}

// FailedItem is a message that could not be migrated, with details for the
// admin.
type FailedItem struct {
	Key        mailbox.Key        `json:"key"`
	ContentKey mailbox.ContentKey `json:"content_key,omitempty"`
	Folder     string             `json:"folder"`
	UID        uint32             `json:"uid"`
	Subject    string             `json:"subject,omitempty"`
	Date       string             `json:"date,omitempty"`
	Size       int64              `json:"size"`
	Reason     string             `json:"reason"`
	Hint       string             `json:"hint,omitempty"`
	Pass       project.Pass       `json:"pass"`
	PassSeq    uint64             `json:"pass_seq"`
	Time       time.Time          `json:"time"`
}

// How a DoneItem became done.
const (
	ViaSent    = ""        // written to the destination by this pass
	ViaDest    = "dest"    // already at the destination (content-key dedup)
	ViaJournal = "journal" // done under an older UIDVALIDITY (content-key fallback)
)

// DoneItem is a message that is at the destination.
type DoneItem struct {
	Key        mailbox.Key
	ContentKey mailbox.ContentKey
	DestID     string
	Size       int64
	Via        string  // ViaSent, ViaDest or ViaJournal
	Flags      FlagSet // the source flags as migrated (zero = not recorded)
}

// FlagRecord records the flags of an item that is already done, without
// touching any other counter: after its flags were updated at the
// destination (Updated, counted in PassRecord.ItemsUpdated), or to record
// them the first time a pass sees an item journaled without flags.
type FlagRecord struct {
	Key     mailbox.Key
	Flags   FlagSet
	Updated bool
}

// Batch is what one destination write (or dedup decision) changed.
type Batch struct {
	PassSeq     uint64 // the running pass (from BeginPass); 0 = no counters
	Folder      string
	UIDValidity uint32
	Done        []DoneItem
	Failed      []FailedItem
	Flags       []FlagRecord // keys not done are ignored
}

// PassRecord is one pass of one user.
type PassRecord struct {
	Seq           uint64         `json:"seq"`
	Pass          project.Pass   `json:"pass"`
	Start         time.Time      `json:"start"`
	End           time.Time      `json:"end,omitempty"` // zero while running (or killed)
	Status        project.Status `json:"status,omitempty"`
	Error         string         `json:"error,omitempty"`
	ItemsMigrated int64          `json:"items_migrated"`
	BytesMigrated int64          `json:"bytes_migrated"`
	ItemsSkipped  int64          `json:"items_skipped"` // already at the destination
	BytesSkipped  int64          `json:"bytes_skipped"`
	ItemsFailed   int64          `json:"items_failed"`
	BytesFailed   int64          `json:"bytes_failed"`
	ItemsUpdated  int64          `json:"items_updated,omitempty"` // flags changed on already migrated items
	// Failure classifies Error when the user failed as a whole
	// (core/failure); nil otherwise and in records made before it existed.
	Failure *project.Failure `json:"failure,omitempty"`
}

// Duration of the pass (until now if it has not ended).
func (r PassRecord) Duration() time.Duration {
	if r.End.IsZero() {
		return time.Since(r.Start)
	}
	return r.End.Sub(r.Start)
}

// FolderState is a folder's journal loaded in one read transaction.
type FolderState struct {
	FolderMeta
	Done map[mailbox.Key]string // destination ids
	// Flags holds the recorded flags of the done items that have them
	// (items journaled before flags were kept have none).
	Flags       map[mailbox.Key]FlagSet
	ContentDone map[mailbox.ContentKey]int
	Failed      map[mailbox.Key]FailedItem
}

// FolderSummary is one folder's counters, for statistics.
type FolderSummary struct {
	Folder string
	FolderMeta
	Failed      int64
	FailedBytes int64
}

func userBucket(tx *bbolt.Tx, proj, user string, create bool) (*bbolt.Bucket, error) {
	pb := ProjectBucket(tx, proj)
	if pb == nil {
		return nil, fmt.Errorf("project %q: %w", proj, ErrNotFound)
	}
	if !create {
		jb := pb.Bucket(bucketJournal)
		if jb == nil {
			return nil, nil
		}
		return jb.Bucket([]byte(user)), nil
	}
	jb, err := pb.CreateBucketIfNotExists(bucketJournal)
	if err != nil {
		return nil, err
	}
	return jb.CreateBucketIfNotExists([]byte(user))
}

func folderBucket(ub *bbolt.Bucket, folder string, create bool) (*bbolt.Bucket, error) {
	if ub == nil {
		return nil, nil
	}
	if !create {
		fb := ub.Bucket(bucketFolders)
		if fb == nil {
			return nil, nil
		}
		return fb.Bucket([]byte(folder)), nil
	}
	fb, err := ub.CreateBucketIfNotExists(bucketFolders)
	if err != nil {
		return nil, err
	}
	b, err := fb.CreateBucketIfNotExists([]byte(folder))
	if err != nil {
		return nil, err
	}
	for _, n := range [][]byte{bucketDone, bucketCDone, bucketFailed} {
		if _, err := b.CreateBucketIfNotExists(n); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func getJSON(b *bbolt.Bucket, k []byte, v any) error {
	if b == nil {
		return nil
	}
	raw := b.Get(k)
	if raw == nil {
		return nil
	}
	return json.Unmarshal(raw, v)
}

func putJSON(b *bbolt.Bucket, k []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(k, raw)
}

func seqKey(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// Folder loads the journal of one source folder (an empty state if none).
func (j *Journal) Folder(proj, user, folder string) (*FolderState, error) {
	st := &FolderState{
		Done:        map[mailbox.Key]string{},
		Flags:       map[mailbox.Key]FlagSet{},
		ContentDone: map[mailbox.ContentKey]int{},
		Failed:      map[mailbox.Key]FailedItem{},
	}
	err := view(j.db, func(tx *bbolt.Tx) error {
		ub, err := userBucket(tx, proj, user, false)
		if err != nil {
			return err
		}
		b, _ := folderBucket(ub, folder, false)
		if b == nil {
			return nil
		}
		if err := getJSON(b, keyMeta, &st.FolderMeta); err != nil {
			return err
		}
		if err := b.Bucket(bucketDone).ForEach(func(k, v []byte) error {
			id, fs := decodeDone(v)
			st.Done[mailbox.Key(k)] = id
			if fs.Known {
				st.Flags[mailbox.Key(k)] = fs
			}
			return nil
		}); err != nil {
			return err
		}
		if err := b.Bucket(bucketCDone).ForEach(func(k, v []byte) error {
			if len(v) == 4 {
				st.ContentDone[mailbox.ContentKey(k)] = int(binary.BigEndian.Uint32(v))
			}
			return nil
		}); err != nil {
			return err
		}
		return b.Bucket(bucketFailed).ForEach(func(k, v []byte) error {
			var fi FailedItem
			if err := json.Unmarshal(v, &fi); err != nil {
				return fmt.Errorf("failed item %q: %w", k, err)
			}
			st.Failed[mailbox.Key(k)] = fi
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("journal: loading %s/%s folder %q: %w", proj, user, folder, err)
	}
	return st, nil
}

// FolderHead loads what a pass needs whole of one source folder's journal
// (an empty state if none): its counters, UIDVALIDITY and failed items.
// Done, Flags and ContentDone stay nil: they grow with the folder, so the
// engine pages through them with Done (and, after a UIDVALIDITY change,
// loads ContentDone).
func (j *Journal) FolderHead(proj, user, folder string) (*FolderState, error) {
	st := &FolderState{Failed: map[mailbox.Key]FailedItem{}}
	err := view(j.db, func(tx *bbolt.Tx) error {
		b, err := journalFolder(tx, proj, user, folder)
		if b == nil || err != nil {
			return err
		}
		if err := getJSON(b, keyMeta, &st.FolderMeta); err != nil {
			return err
		}
		return b.Bucket(bucketFailed).ForEach(func(k, v []byte) error {
			var fi FailedItem
			if err := json.Unmarshal(v, &fi); err != nil {
				return fmt.Errorf("failed item %q: %w", k, err)
			}
			st.Failed[mailbox.Key(k)] = fi
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("journal: loading %s/%s folder %q: %w", proj, user, folder, err)
	}
	return st, nil
}

// Done looks keys up in one read transaction and calls fn for each that is
// done in folder, with its index in keys, its destination id and its
// recorded flags (zero when none were recorded). Callers pass a page of
// keys at a time, so that no call holds a folder's whole journal.
func (j *Journal) Done(proj, user, folder string, keys []mailbox.Key, fn func(i int, destID string, flags FlagSet)) error {
	err := view(j.db, func(tx *bbolt.Tx) error {
		b, err := journalFolder(tx, proj, user, folder)
		if b == nil || err != nil {
			return err
		}
		done := b.Bucket(bucketDone)
		for i, k := range keys {
			if v := done.Get([]byte(k)); v != nil {
				id, fs := decodeDone(v)
				fn(i, id, fs)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("journal: looking up %s/%s folder %q: %w", proj, user, folder, err)
	}
	return nil
}

// ContentDone loads how many messages of each content key folder's
// journal counts as done (all UIDVALIDITYs).
func (j *Journal) ContentDone(proj, user, folder string) (map[mailbox.ContentKey]int, error) {
	out := map[mailbox.ContentKey]int{}
	err := view(j.db, func(tx *bbolt.Tx) error {
		b, err := journalFolder(tx, proj, user, folder)
		if b == nil || err != nil {
			return err
		}
		return b.Bucket(bucketCDone).ForEach(func(k, v []byte) error {
			if len(v) == 4 {
				out[mailbox.ContentKey(k)] = int(binary.BigEndian.Uint32(v))
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("journal: loading %s/%s folder %q: %w", proj, user, folder, err)
	}
	return out, nil
}

// journalFolder is folder's bucket in user's journal, nil if none.
func journalFolder(tx *bbolt.Tx, proj, user, folder string) (*bbolt.Bucket, error) {
	ub, err := userBucket(tx, proj, user, false)
	if err != nil {
		return nil, err
	}
	b, _ := folderBucket(ub, folder, false)
	return b, nil
}

// Commit records one batch atomically: done keys (removing them from the
// failed set), failed keys, the folder's UIDVALIDITY and counters, and the
// running pass's counters.
func (j *Journal) Commit(proj, user string, b Batch) error {
	err := update(j.db, func(tx *bbolt.Tx) error {
		ub, err := userBucket(tx, proj, user, true)
		if err != nil {
			return err
		}
		fb, err := folderBucket(ub, b.Folder, true)
		if err != nil {
			return err
		}
		var meta FolderMeta
		if err := getJSON(fb, keyMeta, &meta); err != nil {
			return err
		}
		if b.UIDValidity != 0 {
			meta.UIDValidity = b.UIDValidity
		}
		var rec PassRecord
		var pb *bbolt.Bucket
		if b.PassSeq != 0 {
			if pb = ub.Bucket(bucketPasses); pb != nil {
				if err := getJSON(pb, seqKey(b.PassSeq), &rec); err != nil {
					return err
				}
			}
		}
		if err := commitDone(fb, b.Done, &meta, &rec); err != nil {
			return err
		}
		if err := commitFlags(fb.Bucket(bucketDone), b.Flags, &rec); err != nil {
			return err
		}
		if err := commitFailed(fb.Bucket(bucketFailed), b, &rec); err != nil {
			return err
		}
		if err := putJSON(fb, keyMeta, meta); err != nil {
			return err
		}
		if pb != nil && rec.Seq != 0 {
			return putJSON(pb, seqKey(rec.Seq), rec)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("journal: commit %s/%s folder %q: %w", proj, user, b.Folder, err)
	}
	return nil
}

// commitDone records done items in folder bucket fb: each key done (and
// no longer failed) and, unless it only came from the journal, its
// content key counted and the folder's and pass's counters raised.
func commitDone(fb *bbolt.Bucket, items []DoneItem, meta *FolderMeta, rec *PassRecord) error {
	done, cdone, failed := fb.Bucket(bucketDone), fb.Bucket(bucketCDone), fb.Bucket(bucketFailed)
	for _, d := range items {
		if err := done.Put([]byte(d.Key), encodeDone(d.DestID, d.Flags)); err != nil {
			return err
		}
		if err := failed.Delete([]byte(d.Key)); err != nil {
			return err
		}
		if d.Via == ViaJournal {
			continue
		}
		if d.ContentKey != "" {
			n := uint32(0)
			if v := cdone.Get([]byte(d.ContentKey)); len(v) == 4 {
				n = binary.BigEndian.Uint32(v)
			}
			if err := cdone.Put([]byte(d.ContentKey), binary.BigEndian.AppendUint32(nil, n+1)); err != nil {
				return err
			}
		}
		meta.Items++
		meta.Bytes += d.Size
		if d.Via == ViaDest {
			rec.ItemsSkipped++
			rec.BytesSkipped += d.Size
		} else {
			rec.ItemsMigrated++
			rec.BytesMigrated += d.Size
		}
	}
	return nil
}

// commitFlags records the flags of keys already done.
func commitFlags(done *bbolt.Bucket, flags []FlagRecord, rec *PassRecord) error {
	for _, fr := range flags {
		v := done.Get([]byte(fr.Key))
		if v == nil || !fr.Flags.Known {
			continue
		}
		id, _ := decodeDone(v)
		if err := done.Put([]byte(fr.Key), encodeDone(id, fr.Flags)); err != nil {
			return err
		}
		if fr.Updated {
			rec.ItemsUpdated++
		}
	}
	return nil
}

// commitFailed records b's failed items (in b's folder unless they name
// one).
func commitFailed(failed *bbolt.Bucket, b Batch, rec *PassRecord) error {
	for _, f := range b.Failed {
		if f.Folder == "" {
			f.Folder = b.Folder
		}
		if err := putJSON(failed, []byte(f.Key), f); err != nil {
			return err
		}
		rec.ItemsFailed++
		rec.BytesFailed += f.Size
	}
	return nil
}

// BeginPass records the start of a pass and returns its sequence number.
func (j *Journal) BeginPass(proj, user string, pass project.Pass, start time.Time) (uint64, error) {
	var seq uint64
	err := update(j.db, func(tx *bbolt.Tx) error {
		ub, err := userBucket(tx, proj, user, true)
		if err != nil {
			return err
		}
		pb, err := ub.CreateBucketIfNotExists(bucketPasses)
		if err != nil {
			return err
		}
		if seq, err = pb.NextSequence(); err != nil {
			return err
		}
		return putJSON(pb, seqKey(seq), PassRecord{Seq: seq, Pass: pass, Start: start, Status: project.StatusRunning})
	})
	if err != nil {
		return 0, fmt.Errorf("journal: begin pass for %s/%s: %w", proj, user, err)
	}
	return seq, nil
}

// EndPass records how pass seq ended; the counters written by Commit are
// kept.
func (j *Journal) EndPass(proj, user string, seq uint64, end time.Time, status project.Status, passErr string) error {
	return j.EndPassFailure(proj, user, seq, end, status, passErr, nil)
}

// EndPassFailure is EndPass that also records why the user failed
// (failure nil: not a user-level failure).
func (j *Journal) EndPassFailure(proj, user string, seq uint64, end time.Time, status project.Status, passErr string,
	failure *project.Failure) error {
	err := update(j.db, func(tx *bbolt.Tx) error {
		ub, err := userBucket(tx, proj, user, false)
		if err != nil {
			return err
		}
		if ub == nil || ub.Bucket(bucketPasses) == nil {
			return fmt.Errorf("pass %d: %w", seq, ErrNotFound)
		}
		pb := ub.Bucket(bucketPasses)
		var rec PassRecord
		if err := getJSON(pb, seqKey(seq), &rec); err != nil {
			return err
		}
		if rec.Seq == 0 {
			return fmt.Errorf("pass %d: %w", seq, ErrNotFound)
		}
		rec.End, rec.Status, rec.Error, rec.Failure = end, status, passErr, failure
		return putJSON(pb, seqKey(seq), rec)
	})
	if err != nil {
		return fmt.Errorf("journal: end pass for %s/%s: %w", proj, user, err)
	}
	return nil
}

// Passes lists a user's passes, oldest first.
func (j *Journal) Passes(proj, user string) ([]PassRecord, error) {
	var out []PassRecord
	err := view(j.db, func(tx *bbolt.Tx) error {
		ub, err := userBucket(tx, proj, user, false)
		if err != nil || ub == nil || ub.Bucket(bucketPasses) == nil {
			return err
		}
		return ub.Bucket(bucketPasses).ForEach(func(k, v []byte) error {
			var r PassRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			out = append(out, r)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("journal: passes of %s/%s: %w", proj, user, err)
	}
	return out, nil
}

// FailedItems lists the user's currently failed messages (a message that
// later succeeded is no longer listed), by folder then UID.
func (j *Journal) FailedItems(proj, user string) ([]FailedItem, error) {
	var out []FailedItem
	err := j.forEachFolder(proj, user, func(name string, b *bbolt.Bucket) error {
		return b.Bucket(bucketFailed).ForEach(func(k, v []byte) error {
			var fi FailedItem
			if err := json.Unmarshal(v, &fi); err != nil {
				return err
			}
			out = append(out, fi)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("journal: failed items of %s/%s: %w", proj, user, err)
	}
	sort.SliceStable(out, func(a, b int) bool {
		if out[a].Folder != out[b].Folder {
			return out[a].Folder < out[b].Folder
		}
		return out[a].UID < out[b].UID
	})
	return out, nil
}

// Folders summarises each journaled folder of a user, by name.
func (j *Journal) Folders(proj, user string) ([]FolderSummary, error) {
	var out []FolderSummary
	err := j.forEachFolder(proj, user, func(name string, b *bbolt.Bucket) error {
		s := FolderSummary{Folder: name}
		if err := getJSON(b, keyMeta, &s.FolderMeta); err != nil {
			return err
		}
		err := b.Bucket(bucketFailed).ForEach(func(k, v []byte) error {
			var fi FailedItem
			if err := json.Unmarshal(v, &fi); err != nil {
				return err
			}
			s.Failed++
			s.FailedBytes += fi.Size
			return nil
		})
		out = append(out, s)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("journal: folders of %s/%s: %w", proj, user, err)
	}
	return out, nil
}

func (j *Journal) forEachFolder(proj, user string, fn func(name string, b *bbolt.Bucket) error) error {
	return view(j.db, func(tx *bbolt.Tx) error {
		ub, err := userBucket(tx, proj, user, false)
		if err != nil || ub == nil || ub.Bucket(bucketFolders) == nil {
			return err
		}
		fb := ub.Bucket(bucketFolders)
		return fb.ForEachBucket(func(k []byte) error {
			return fn(string(k), fb.Bucket(k))
		})
	})
}

// Users lists the user ids that have a journal in the project.
func (j *Journal) Users(proj string) ([]string, error) {
	var out []string
	err := view(j.db, func(tx *bbolt.Tx) error {
		pb := ProjectBucket(tx, proj)
		if pb == nil {
			return fmt.Errorf("project %q: %w", proj, ErrNotFound)
		}
		jb := pb.Bucket(bucketJournal)
		if jb == nil {
			return nil
		}
		return jb.ForEachBucket(func(k []byte) error {
			out = append(out, string(k))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("journal: users of %s: %w", proj, err)
	}
	return out, nil
}

// ResetUser forgets everything the journal knows about a user (the next
// Full pass then relies on destination dedup).
func (j *Journal) ResetUser(proj, user string) error {
	err := update(j.db, func(tx *bbolt.Tx) error {
		pb := ProjectBucket(tx, proj)
		if pb == nil {
			return fmt.Errorf("project %q: %w", proj, ErrNotFound)
		}
		jb := pb.Bucket(bucketJournal)
		if jb == nil || jb.Bucket([]byte(user)) == nil {
			return nil
		}
		return jb.DeleteBucket([]byte(user))
	})
	if err != nil {
		return fmt.Errorf("journal: reset %s/%s: %w", proj, user, err)
	}
	return nil
}
