package jsonscan

import "bytes"

// Cache remembers the last string value it decoded, so a value repeated on
// every record (a cwd, a model name) becomes one Go string without an
// allocation per record. The zero value is ready; it is not safe for
// concurrent use.
type Cache struct {
	raw []byte
	esc bool
	s   string
	set bool
}

// Get returns the decoded value of s.
func (c *Cache) Get(s Str) string {
	if c.set && c.esc == s.Esc && bytes.Equal(c.raw, s.Raw) {
		return c.s
	}
	v, _ := s.Text(nil)
	c.raw, c.esc, c.s, c.set = append(c.raw[:0], s.Raw...), s.Esc, string(v), true
	return c.s
}
