package persistence

import (
	"bytes"
	"encoding/binary"

	"github.com/sessiond/sessiond/session"
)

// Key layout, version 1. Every key starts with "v1/" so a future layout can
// live beside it during a migration. Components are separated by 0x00,
// which never occurs in provider ids, session ids or paths.
//
//	v1/m/schema                  schema version ("1")
//	v1/m/head                    last event sequence (uint64 big-endian)
//	v1/s/<prov>\0<id>            session record (JSON)
//	v1/c/<prov>\0<id>            the session's file checkpoints (JSON array, sorted by path)
//	v1/e/<seq>                   event (JSON), seq big-endian so keys sort by sequence
//	v1/q/<prov>\0<claim>         usage claim (JSON)
//	v1/a/<prov>\0<id>            active-session index: ended_at (unix ns, big-endian)
//	v1/p/<prov>\0<id>            the session's newest copied sighting, naming its parent (JSON, see parentRef)
const schemaVersion = "1"

var (
	keySchema  = []byte("v1/m/schema")
	keyHead    = []byte("v1/m/head")
	pfxSession = []byte("v1/s/")
	pfxCkpt    = []byte("v1/c/")
	pfxEvent   = []byte("v1/e/")
	pfxClaim   = []byte("v1/q/")
	pfxActive  = []byte("v1/a/")
	pfxParent  = []byte("v1/p/")
	sep        = byte(0)
)

func join(pfx []byte, parts ...string) []byte {
	n := len(pfx)
	for _, p := range parts {
		n += len(p) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, pfx...)
	for i, p := range parts {
		if i > 0 {
			b = append(b, sep)
		}
		b = append(b, p...)
	}
	return b
}

func sessionKey(k session.Key) []byte { return join(pfxSession, string(k.Provider), string(k.ID)) }
func activeKey(k session.Key) []byte  { return join(pfxActive, string(k.Provider), string(k.ID)) }

// ckptKey holds every checkpoint of one session in one value: a commit
// reads them with one Get (an iterator inside a write transaction sorts
// all of its pending writes, which dominated group commits).
func ckptKey(k session.Key) []byte                     { return join(pfxCkpt, string(k.Provider), string(k.ID)) }
func claimKey(p session.Provider, claim string) []byte { return join(pfxClaim, string(p), claim) }
func claimPrefix(p session.Provider) []byte            { return append(join(pfxClaim, string(p)), sep) }

func eventKey(seq uint64) []byte {
	b := make([]byte, len(pfxEvent)+8)
	copy(b, pfxEvent)
	binary.BigEndian.PutUint64(b[len(pfxEvent):], seq)
	return b
}

// splitSessionKey parses the <prov>\0<id> tail of a session or active key.
func splitKey(pfx, k []byte) (session.Key, bool) {
	rest := k[len(pfx):]
	i := bytes.IndexByte(rest, sep)
	if i < 0 {
		return session.Key{}, false
	}
	return session.Key{Provider: session.Provider(rest[:i]), ID: session.ID(rest[i+1:])}, true
}

func u64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func putU64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}
