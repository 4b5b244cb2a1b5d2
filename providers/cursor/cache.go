package cursor

import "github.com/sessiond/sessiond/providers/jsonscan"

// cache turns repeated string values into one Go string without
// allocating each time.
type cache struct {
	raw []byte
	esc bool
	s   string
	set bool
}

// get returns the decoded value of s.
func (c *cache) get(s jsonscan.Str) string {
	if c.set && c.esc == s.Esc && string(c.raw) == string(s.Raw) {
		return c.s
	}
	v, _ := s.Text(nil)
	c.raw, c.esc, c.s, c.set = append(c.raw[:0], s.Raw...), s.Esc, string(v), true
	return c.s
}
