package copilot

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/providers/jsonscan"
)

// plain returns a replayed value as encoding/json would decode its
// JSON.stringify: objects as maps, arrays as slices, holes as nil.
func plain(t *testing.T, v val) any {
	t.Helper()
	switch v.kind() {
	case kUndefined:
		return nil
	case kObject:
		m := map[string]any{}
		it := v.members()
		for {
			k, esc, f, ok := it.next()
			if !ok {
				break
			}
			if esc {
				var d []byte
				d, _ = (jsonscan.Str{Raw: k, Esc: true, OK: true}).Text(nil)
				k = d
			}
			if f.kind() != kUndefined {
				m[string(k)] = plain(t, f)
			}
		}
		return m
	case kArray:
		a := []any{}
		it := v.elems()
		for {
			f, ok := it.next()
			if !ok {
				break
			}
			a = append(a, plain(t, f))
		}
		return a
	}
	var x any
	if err := json.Unmarshal(v.raw, &x); err != nil {
		t.Fatalf("raw %q: %v", v.raw, err)
	}
	return x
}

func TestReplay(t *testing.T) {
	for _, tc := range []struct {
		name string
		log  string // entries, one per line
		want string // the state, or "" for none
		bad  []int  // 0-based entries that cannot be applied
	}{
		{"set nested", `{"kind":0,"v":{"a":{"b":1}}}
{"kind":1,"k":["a","b"],"v":2}`, `{"a":{"b":2}}`, nil},
		{"set new key and delete", `{"kind":0,"v":{"a":{"b":1}}}
{"kind":1,"k":["a","c"],"v":[3]}
{"kind":3,"k":["a","b"]}
{"kind":3,"k":["a","zz"]}`, `{"a":{"c":[3]}}`, nil},
		{"set without v deletes", `{"kind":0,"v":{"a":1,"b":2}}
{"kind":1,"k":["a"]}`, `{"b":2}`, nil},
		{"push with truncation", `{"kind":0,"v":{"xs":[1,2,3]}}
{"kind":2,"k":["xs"],"v":[9],"i":1}`, `{"xs":[1,9]}`, nil},
		{"push onto missing, null and false", `{"kind":0,"v":{"n":null,"f":false}}
{"kind":2,"k":["ys"],"v":[1]}
{"kind":2,"k":["n"],"v":[2]}
{"kind":2,"k":["f"],"v":[]}`, `{"n":[2],"f":[],"ys":[1]}`, nil},
		{"push i beyond the end leaves holes", `{"kind":0,"v":{"xs":[1]}}
{"kind":2,"k":["xs"],"i":3}`, `{"xs":[1,null,null]}`, nil},
		{"push i null truncates to 0", `{"kind":0,"v":{"xs":[1,2]}}
{"kind":2,"k":["xs"],"v":[5],"i":null}`, `{"xs":[5]}`, nil},
		{"set an index beyond the end", `{"kind":0,"v":{"xs":[1]}}
{"kind":1,"k":["xs",2],"v":7}`, `{"xs":[1,null,7]}`, nil},
		{"delete an element leaves a hole", `{"kind":0,"v":{"xs":[1,2]}}
{"kind":3,"k":["xs",0]}`, `{"xs":[null,2]}`, nil},
		{"into array elements", `{"kind":0,"v":{"rs":[{"a":1},{"a":2}]}}
{"kind":1,"k":["rs",1,"a"],"v":5}
{"kind":2,"k":["rs",0,"p"],"v":["x"]}
{"kind":1,"k":["rs","1","b"],"v":true}`, `{"rs":[{"a":1,"p":["x"]},{"a":5,"b":true}]}`, nil},
		{"numeric key on an object", `{"kind":0,"v":{"0":{"a":1}}}
{"kind":1,"k":[0,"a"],"v":2}`, `{"0":{"a":2}}`, nil},
		{"non-index key on an array is invisible", `{"kind":0,"v":{"xs":[1]}}
{"kind":1,"k":["xs","foo"],"v":2}
{"kind":1,"k":["xs","01"],"v":2}`, `{"xs":[1]}`, nil},
		{"escaped keys", `{"kind":0,"v":{"re\u0071uests":[],"a":{"b\"c":1}}}
{"kind":2,"k":["requests"],"v":[1]}
{"kind":1,"k":["a","b\"c"],"v":2}`, `{"requests":[1],"a":{"b\"c":2}}`, nil},
		{"duplicate keys: the last wins", `{"kind":0,"v":{"a":1,"a":{"b":2}}}
{"kind":1,"k":["a","c"],"v":3}`, `{"a":{"b":2,"c":3}}`, nil},
		{"kind as float", `{"kind":0.0,"v":{"a":1}}
{"kind":1e0,"k":["a"],"v":2}`, `{"a":2}`, nil},
		{"a second initial entry replaces the state", `{"kind":0,"v":{"a":1}}
{"kind":1,"k":["a"],"v":2}
{"kind":0,"v":{"b":1}}`, `{"b":1}`, nil},
		{"empty path: set is a no-op, push throws", `{"kind":0,"v":{"a":1}}
{"kind":1,"k":[],"v":2}
{"kind":2,"k":[],"v":[2]}`, `{"a":1}`, []int{2}},
		{"before the initial entry", `{"kind":1,"k":["a"],"v":2}
{"kind":0,"v":{"a":1}}`, `{"a":1}`, []int{0}},
		{"initial entry without v", `{"kind":0}
{"kind":1,"k":["a"],"v":2}`, ``, []int{1}},
		{"through undefined or a primitive", `{"kind":0,"v":{"a":1,"xs":[]}}
{"kind":1,"k":["b","c"],"v":2}
{"kind":1,"k":["a","c"],"v":2}
{"kind":1,"k":["xs",0,"c"],"v":2}
{"kind":1,"k":["a","c","d"],"v":2}`, `{"a":1,"xs":[]}`, []int{1, 2, 3, 4}},
		{"push onto a non-array", `{"kind":0,"v":{"n":5,"o":{},"s":"x"}}
{"kind":2,"k":["n"],"v":[1]}
{"kind":2,"k":["o"],"v":[1]}
{"kind":2,"k":["o"],"i":0}
{"kind":2,"k":["n"],"i":0}
{"kind":2,"k":["s"],"v":[]}`, `{"n":5,"o":{},"s":"x"}`, []int{1, 2, 4}},
		{"odd entries", `{"kind":0,"v":{"xs":[]}}
{"kind":9,"k":["xs"]}
{"kind":"1","k":["xs"],"v":1}
{"kind":1,"k":"xs","v":1}
{"kind":1,"k":[null],"v":1}
{"kind":2,"k":["xs"],"i":-1}
{"kind":2,"k":["xs"],"i":1.5}
{"kind":2,"k":["xs"],"i":"1"}
{"kind":2,"k":["xs"],"v":"abc"}
{"kind":2,"k":["xs"],"i":100000}
{"kind":1,"k":["xs",100000],"v":1}
{"k":["xs"],"v":1}
[]`, `{"xs":[]}`, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}},
		{"push v not an array adds nothing", `{"kind":0,"v":{"xs":[1]}}
{"kind":2,"k":["xs"],"v":{"a":1}}
{"kind":2,"k":["xs"],"v":7}
{"kind":2,"k":["xs"],"v":""}`, `{"xs":[1]}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r replay
			var e entry
			var buf []byte
			var bad []int
			for i, line := range strings.Split(tc.log, "\n") {
				var err error
				if buf, err = parseEntry([]byte(line), &e, buf[:0]); err == nil {
					err = r.apply(&e)
				}
				if err != nil {
					bad = append(bad, i)
				}
			}
			if !reflect.DeepEqual(bad, tc.bad) {
				t.Errorf("entries not applied: %v, want %v", bad, tc.bad)
			}
			if tc.want == "" {
				if r.started {
					t.Errorf("state %v, want none", plain(t, r.root))
				}
				return
			}
			var want any
			if err := json.Unmarshal([]byte(tc.want), &want); err != nil {
				t.Fatal(err)
			}
			if got := plain(t, r.root); !reflect.DeepEqual(got, want) {
				t.Errorf("state\n got %v\nwant %v", got, want)
			}
		})
	}
}

func TestTruthy(t *testing.T) {
	for raw, want := range map[string]bool{`0`: false, `-0`: false, `0.0`: false, `0e5`: false, `1`: true,
		`""`: false, `" "`: true, `null`: false, `false`: false, `true`: true, `{}`: true, `[]`: true} {
		if got := (val{raw: []byte(raw)}).truthy(); got != want {
			t.Errorf("truthy(%s) = %v", raw, got)
		}
	}
	if (val{}).truthy() {
		t.Error("undefined is truthy")
	}
}

func TestArrayIndex(t *testing.T) {
	for s, want := range map[string]int{"0": 0, "7": 7, "4294967294": 4294967294, "4294967295": -1, "01": -1, "-1": -1, "1.0": -1, "": -1, "1e3": -1} {
		n, ok := arrayIndex([]byte(s))
		if (want < 0) == ok || (ok && n != want) {
			t.Errorf("arrayIndex(%q) = %d, %v", s, n, ok)
		}
	}
}
