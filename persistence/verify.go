package persistence

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/table"
	"github.com/dgraph-io/ristretto/v2/z"

	"github.com/sessiond/sessiond/session"
)

// checkFiles inspects the files of a data directory before Badger opens it,
// because Badger v4.9.6 repairs damage silently: a table whose checksum does
// not match is skipped ("Ignoring table"), a table the MANIFEST does not
// list is deleted, and a table with a damaged index panics in a goroutine
// Badger owns (no recover possible). checkFiles only reads.
//
// It reports as damage: a MANIFEST that cannot be replayed; a table the
// MANIFEST lists but that is missing; a MANIFEST with a torn last entry
// while tables exist that it does not list (a crash never tears an entry:
// Badger writes each in one write call, so this is a cut or damaged file
// whose tables would be deleted); any listed table whose index or block
// checksums do not verify. Tables not listed by an intact MANIFEST are the
// normal leftovers of a crash during a flush or compaction: Badger deletes
// them and their data is still in the logs or the older tables.
func checkFiles(dir string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("reading the store's files panicked: %v", r)
		}
	}()
	mfPath := filepath.Join(dir, badger.ManifestFilename)
	tables, err := tableFiles(dir)
	if err != nil {
		return err
	}
	fp, err := os.Open(mfPath)
	if errors.Is(err, os.ErrNotExist) {
		if len(tables) > 0 {
			return fmt.Errorf("%s is missing but %d table files are present", mfPath, len(tables))
		}
		return nil // a new store
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", mfPath, err)
	}
	defer fp.Close()
	fi, err := fp.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", mfPath, err)
	}
	bo := badger.DefaultOptions(dir).WithLogger(nil)
	mf, end, err := badger.ReplayManifestFile(fp, 0, bo)
	if err != nil {
		return fmt.Errorf("MANIFEST %s: %w", mfPath, err)
	}
	var orphans []uint64
	for id := range tables {
		if _, ok := mf.Tables[id]; !ok {
			orphans = append(orphans, id)
		}
	}
	var missing []uint64
	for id := range mf.Tables {
		if _, ok := tables[id]; !ok {
			missing = append(missing, id)
		}
	}
	slices.Sort(orphans)
	slices.Sort(missing)
	if len(missing) > 0 {
		return fmt.Errorf("MANIFEST %s lists tables that are missing: %s", mfPath, tableNames(missing))
	}
	if end < fi.Size() && len(orphans) > 0 {
		return fmt.Errorf("MANIFEST %s is cut short (%d of %d bytes readable) and does not list tables %s",
			mfPath, end, fi.Size(), tableNames(orphans))
	}
	if err := checkLogHeaders(dir); err != nil {
		return err
	}
	kr, err := badger.OpenKeyRegistry(badger.KeyRegistryOptions{Dir: dir, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(dir, badger.KeyRegistryFileName), err)
	}
	_ = kr.Close()
	ids := make([]uint64, 0, len(mf.Tables))
	for id := range mf.Tables {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if err := checkTable(tables[id], mf.Tables[id].Compression); err != nil {
			return err
		}
	}
	return nil
}

// tableFiles maps the table IDs in dir to their paths.
func tableFiles(dir string) (map[uint64]string, error) {
	es, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read data dir %q: %w", dir, err)
	}
	out := map[uint64]string{}
	for _, e := range es {
		if id, ok := table.ParseFileID(e.Name()); ok && strings.HasSuffix(e.Name(), ".sst") {
			out[id] = filepath.Join(dir, e.Name())
		}
	}
	return out, nil
}

func tableNames(ids []uint64) string {
	var b strings.Builder
	for i, id := range ids {
		if i == 8 {
			fmt.Fprintf(&b, " and %d more", len(ids)-i)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(table.IDToFilename(id))
	}
	return b.String()
}

// checkTable opens one table read-only and verifies its index and every
// block checksum. A panic in Badger's table code is returned as an error.
func checkTable(path string, c options.CompressionType) (err error) {
	mf, err := z.OpenMmapFile(path, os.O_RDONLY, 0)
	if err != nil && !errors.Is(err, z.NewFile) {
		return fmt.Errorf("open table %s: %w", path, err)
	}
	// One close, whatever happens: OpenTable would close the mapping
	// itself on some failures (and not on others), so it verifies
	// nothing but the index and the block checksums are checked here.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("table %s is unreadable: %v", path, r)
		}
		if cerr := mf.Close(-1); cerr != nil && err == nil {
			err = fmt.Errorf("close table %s: %w", path, cerr)
		}
	}()
	t, err := table.OpenTable(mf, table.Options{
		ReadOnly:    true,
		ChkMode:     options.NoVerification,
		BlockSize:   4 << 10,
		Compression: c,
	})
	if err != nil {
		return fmt.Errorf("table %s: %w", path, err)
	}
	if err := t.VerifyChecksum(); err != nil {
		return fmt.Errorf("table %s: %w", path, err)
	}
	return nil
}

// logHeaderSize is the header of a value-log or memtable file: the key id
// (8 bytes, 0 without encryption) and a 12-byte IV.
const logHeaderSize = 20

// checkLogHeaders checks the header of every value-log and memtable file.
// sessiond never encrypts, so a non-zero key id is damage; Badger would
// fail on it only after creating a new memtable and rewriting the MANIFEST.
func checkLogHeaders(dir string) error {
	es, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("read data dir %q: %w", dir, err)
	}
	for _, e := range es {
		if !strings.HasSuffix(e.Name(), ".vlog") && !strings.HasSuffix(e.Name(), ".mem") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		f, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("open %s: %w", p, err)
		}
		var h [logHeaderSize]byte
		n, err := io.ReadFull(f, h[:])
		_ = f.Close()
		if n < logHeaderSize || err != nil {
			continue // shorter than a header: Badger rewrites it, nothing was in it
		}
		if id := binary.BigEndian.Uint64(h[:8]); id != 0 {
			return fmt.Errorf("%s has a damaged header (key id %d; sessiond never encrypts)", p, id)
		}
	}
	return nil
}

// VerifyReport is what Verify checked and the problems it found.
type VerifyReport struct {
	Dir         string   `json:"dir"`
	Tables      int      `json:"tables"`      // tables whose every block checksum verified
	Keys        int      `json:"keys"`        // keys read with their values
	Sessions    int      `json:"sessions"`    // session records decoded
	Checkpoints int      `json:"checkpoints"` // checkpoint sets decoded
	Claims      int      `json:"claims"`      // usage claims decoded
	Active      int      `json:"active"`      // active-index entries
	Events      int      `json:"events"`      // events decoded
	Head        uint64   `json:"head"`        // stored event head
	Problems    []string `json:"problems"`    // empty: the store is sound
}

// OK reports whether no problem was found.
func (r *VerifyReport) OK() bool { return len(r.Problems) == 0 }

func (r *VerifyReport) problem(format string, a ...any) {
	if len(r.Problems) < 1000 {
		r.Problems = append(r.Problems, fmt.Sprintf(format, a...))
	}
}

// Verify checks the store in dir without writing it: the files as Open
// checks them, every table's block checksums, every key's value decoded,
// the event log gapless from 1 to the head, and checkpoints and the
// active index referring to stored sessions. A store held by a running
// sessiond fails with ErrLocked (a read-only open needs the lock); a
// missing store with an error matching os.ErrNotExist. Problems are in the
// report, not the error.
func Verify(dir string) (*VerifyReport, error) {
	rep := &VerifyReport{Dir: dir}
	if _, err := os.Stat(filepath.Join(dir, badger.ManifestFilename)); err != nil {
		return nil, fmt.Errorf("no store in %s: %w", dir, err)
	}
	s, err := Open(dir, Options{ReadOnly: true})
	if errors.Is(err, ErrLocked) {
		return nil, err
	}
	if err != nil {
		rep.problem("%v", err)
		return rep, nil
	}
	defer s.Close()
	tables := s.db.Tables()
	rep.Tables = len(tables)
	if err := s.checksums(); err != nil {
		rep.problem("table checksums: %v", err)
	}
	if err := s.verifyKeys(rep); err != nil {
		rep.problem("reading keys: %v", err)
	}
	return rep, nil
}

func (s *Store) checksums() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panicked: %v", r)
		}
	}()
	return s.db.VerifyChecksum()
}

// verifyKeys reads every key with its value and checks the cross-references.
func (s *Store) verifyKeys(rep *VerifyReport) error {
	sessions := map[session.Key]bool{}
	var ckpts, active []session.Key
	var next uint64 = 1
	err := s.view(func(txn *badger.Txn) error {
		return scan(txn, []byte("v1/"), true, func(k, v []byte) error {
			rep.Keys++
			switch {
			case bytes.Equal(k, keySchema):
				if string(v) != schemaVersion {
					rep.problem("schema is %q, want %q", v, schemaVersion)
				}
			case bytes.Equal(k, keyClaimRules):
				if string(v) != claimRules {
					rep.problem("claim rules mark is %q, want %q", v, claimRules)
				}
			case bytes.Equal(k, keyHead):
				if len(v) != 8 {
					rep.problem("event head has %d bytes, want 8", len(v))
				}
				rep.Head = u64(v)
			case bytes.HasPrefix(k, pfxSession):
				var r session.Record
				key, ok := splitKey(pfxSession, k)
				if err := json.Unmarshal(v, &r); err != nil || !ok || r.Key != key {
					rep.problem("session %q: undecodable or keyed wrong (%v)", k, err)
					return nil
				}
				rep.Sessions++
				sessions[key] = true
			case bytes.HasPrefix(k, pfxCkpt):
				var cks []session.Checkpoint
				key, ok := splitKey(pfxCkpt, k)
				if err := json.Unmarshal(v, &cks); err != nil || !ok {
					rep.problem("checkpoints %q: undecodable (%v)", k, err)
					return nil
				}
				rep.Checkpoints++
				ckpts = append(ckpts, key)
			case bytes.HasPrefix(k, pfxClaim):
				var c claimEntry
				if err := json.Unmarshal(v, &c); err != nil {
					rep.problem("claim %q: undecodable (%v)", k, err)
					return nil
				}
				rep.Claims++
			case bytes.HasPrefix(k, pfxParent):
				var r parentRef
				if _, ok := splitKey(pfxParent, k); !ok || json.Unmarshal(v, &r) != nil {
					rep.problem("parent ref %q: malformed", k)
				}
			case bytes.HasPrefix(k, pfxActive):
				key, ok := splitKey(pfxActive, k)
				if !ok || len(v) != 8 {
					rep.problem("active index %q: malformed", k)
					return nil
				}
				rep.Active++
				active = append(active, key)
			case bytes.HasPrefix(k, pfxEvent):
				var e session.Event
				if err := json.Unmarshal(v, &e); err != nil || len(k) != len(pfxEvent)+8 || e.Seq != u64(k[len(pfxEvent):]) {
					rep.problem("event %x: undecodable or keyed wrong (%v)", k, err)
					return nil
				}
				if e.Seq != next {
					rep.problem("event log gap: event %d follows %d", e.Seq, next-1)
				}
				next = e.Seq + 1
				rep.Events++
			default:
				rep.problem("unknown key %q", k)
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	if next-1 != rep.Head {
		rep.problem("event head is %d but the log ends at %d", rep.Head, next-1)
	}
	// Checkpoints without a record are files that hold no dated record
	// yet (phantoms, see persistence.Apply): remembered, not sessions.
	for _, k := range active {
		if !sessions[k] {
			rep.problem("active index entry %s has no session record", k)
		}
	}
	return nil
}
