package persistence

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/table"
	"github.com/dgraph-io/badger/v4/y"
	"github.com/dgraph-io/ristretto/v2/z"

	"github.com/sessiond/sessiond/session"
)

// Badger's entry meta bits (value.go, v4.9.6).
const (
	metaDelete       byte = 1 << 0
	metaValuePointer byte = 1 << 1
)

// Salvaged is what SalvageSessions could read from a damaged store.
type Salvaged struct {
	Sessions []session.Record // newest readable version of each session, sorted by key
	// Unreadable lists the sessions whose newest record could not be
	// decoded, by key.
	Unreadable []string
	// LostBlocks counts table blocks (or whole tables) that could not be
	// read: the sessions in them are unknown.
	LostBlocks int
	// Problems describes each damaged table or block.
	Problems []string
}

type salvaged struct {
	ts   uint64
	meta byte
	val  []byte
}

// SalvageSessions reads every session record it still can from the tables
// of a damaged data directory, without Badger and without writing: each
// table file on disk, block by block with checksums, keeping the newest
// version of each session key. It never opens the directory with Badger
// (which would repair it by dropping data). Memtable logs are not read: a
// store damaged after a clean shutdown has none.
func SalvageSessions(dir string) (*Salvaged, error) {
	tables, err := tableFiles(dir)
	if err != nil {
		return nil, err
	}
	comp := map[uint64]options.CompressionType{}
	if fp, err := os.Open(dir + string(os.PathSeparator) + badger.ManifestFilename); err == nil {
		if mf, _, err := badger.ReplayManifestFile(fp, 0, badger.DefaultOptions(dir).WithLogger(nil)); err == nil {
			for id, tm := range mf.Tables {
				comp[id] = tm.Compression
			}
		}
		_ = fp.Close()
	}
	ids := make([]uint64, 0, len(tables))
	for id := range tables {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := &Salvaged{}
	newest := map[string]salvaged{}
	for _, id := range ids {
		c, ok := comp[id]
		if !ok {
			c = options.Snappy // what sessiond writes
		}
		salvageTable(tables[id], c, newest, out)
	}
	keys := make([]string, 0, len(newest))
	for k := range newest {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		e := newest[k]
		key, ok := splitKey(pfxSession, []byte(k))
		name := strings.Replace(k[len(pfxSession):], "\x00", "/", 1)
		switch {
		case e.meta&metaDelete != 0:
			continue
		case !ok:
			out.Unreadable = append(out.Unreadable, name)
		case e.meta&metaValuePointer != 0:
			out.Unreadable = append(out.Unreadable, name+" (value in the value log)")
		default:
			var r session.Record
			if err := json.Unmarshal(e.val, &r); err != nil || r.Key != key {
				out.Unreadable = append(out.Unreadable, name)
				continue
			}
			out.Sessions = append(out.Sessions, r)
		}
	}
	return out, nil
}

// salvageTable reads the session keys of one table, block by block, into
// newest; a damaged block is skipped and counted.
func salvageTable(path string, c options.CompressionType, newest map[string]salvaged, out *Salvaged) {
	fail := func(format string, a ...any) {
		out.LostBlocks++
		out.Problems = append(out.Problems, fmt.Sprintf(format, a...))
	}
	mf, err := z.OpenMmapFile(path, os.O_RDONLY, 0)
	if err != nil && !errors.Is(err, z.NewFile) {
		fail("table %s: %v", path, err)
		return
	}
	var t *table.Table
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("unreadable index: %v", r)
			}
		}()
		t, err = table.OpenTable(mf, table.Options{ReadOnly: true, ChkMode: options.OnBlockRead, BlockSize: 4 << 10, Compression: c})
	}()
	if err != nil {
		_ = mf.Close(-1)
		fail("table %s: %v", path, err)
		return
	}
	defer func() { _ = t.MmapFile.Close(-1) }()
	var splits []string
	func() {
		defer func() {
			if r := recover(); r != nil {
				splits = nil
			}
		}()
		splits = t.KeySplits(math.MaxInt32, nil)
	}()
	if len(splits) == 0 {
		fail("table %s: unreadable block index", path)
		return
	}
	for i, start := range splits {
		var end []byte
		if i+1 < len(splits) {
			end = []byte(splits[i+1])
		}
		if err := salvageBlock(t, []byte(start), end, newest); err != nil {
			fail("table %s block %d: %v", path, i, err)
		}
	}
}

// salvageBlock reads the keys from start up to end (exclusive; nil: the
// table's end). Reaching neither end nor the table's end means a damaged
// block stopped the iterator.
func salvageBlock(t *table.Table, start, end []byte, newest map[string]salvaged) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panicked: %v", r)
		}
	}()
	it := t.NewIterator(0)
	defer it.Close()
	it.Seek(start)
	var last []byte
	for ; it.Valid(); it.Next() {
		k := it.Key()
		if end != nil && bytes.Compare(k, end) >= 0 {
			return nil
		}
		last = append(last[:0], k...)
		uk := y.ParseKey(k)
		if !bytes.HasPrefix(uk, pfxSession) {
			continue
		}
		ts := y.ParseTs(k)
		if prev, ok := newest[string(uk)]; ok && prev.ts >= ts {
			continue
		}
		v := it.Value()
		newest[string(uk)] = salvaged{ts: ts, meta: v.Meta, val: bytes.Clone(v.Value)}
	}
	if end != nil && last != nil {
		// Stopped at the next block: this one was read (blocks are
		// checksummed whole, so any key read means it is intact).
		return nil
	}
	if end != nil || !bytes.Equal(last, t.Biggest()) {
		return errors.New("checksum mismatch or unreadable block")
	}
	return nil
}
