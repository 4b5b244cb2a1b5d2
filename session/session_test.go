package session

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestParentSessionIDJSON: the parent appears as parent_session_id, and
// not at all when there is none.
func TestParentSessionIDJSON(t *testing.T) {
	b, err := json.Marshal(Record{ParentSessionID: "p-1"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"parent_session_id":"p-1"`) {
		t.Errorf("record JSON %s has no parent_session_id", b)
	}
	b, err = json.Marshal(Record{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "parent_session_id") {
		t.Errorf("record JSON %s names a parent it does not have", b)
	}
	b, err = json.Marshal(Change{Parent: "p-1"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"parent_session_id":"p-1"`) {
		t.Errorf("change JSON %s has no parent_session_id", b)
	}
}
