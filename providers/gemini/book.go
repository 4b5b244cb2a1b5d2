package gemini

import "github.com/sessiond/sessiond/session"

// contrib is what one message adds to its session: counts and usage.
type contrib struct {
	n session.Counts
	u session.Usage
}

func (c contrib) add(o contrib) contrib { return contrib{c.n.Add(o.n), c.u.Add(o.u)} }

func (c contrib) sub(o contrib) contrib { return contrib{c.n.Add(negCounts(o.n)), c.u.Sub(o.u)} }

func negCounts(n session.Counts) session.Counts {
	return session.Counts{UserMessages: -n.UserMessages, AssistantMessages: -n.AssistantMessages, ToolCalls: -n.ToolCalls, ToolErrors: -n.ToolErrors}
}

// apply adds c to a delta.
func (c contrib) apply(d *session.Delta) {
	d.Counts = d.Counts.Add(c.n)
	d.Usage = d.Usage.Add(c.u)
}

// entry is one live message: its id and its current contribution.
type entry struct {
	id string
	c  contrib
}

// book is the live message list of a conversation, in order, as Gemini CLI
// keeps it (a Map by message id: a re-appended id keeps its place and takes
// the new value).
//
// It also caches the state encoding of its entries (see State), which only
// changes from the first entry that changed on: re-appends touch the last
// messages, so saving the state after each chunk of a long conversation
// costs a copy, not an encoding of every message.
type book struct {
	list  []entry
	index map[string]int // id → position in list

	enc    []byte // encoding of list[:len(encEnd)]
	encEnd []int  // encEnd[i]: end of entry i in enc
}

// changed marks the encoding of entries from i on as stale.
func (b *book) changed(i int) {
	if i < len(b.encEnd) {
		b.encEnd = b.encEnd[:i]
		if i == 0 {
			b.enc = b.enc[:0]
		} else {
			b.enc = b.enc[:b.encEnd[i-1]]
		}
	}
}

// encoded returns the encoding of every entry (aliasing the cache).
func (b *book) encoded() []byte {
	for i := len(b.encEnd); i < len(b.list); i++ {
		b.enc = appendEntry(b.enc, b.list[i])
		b.encEnd = append(b.encEnd, len(b.enc))
	}
	return b.enc
}

// upsert sets the contribution of message id, appending it if new, and
// returns the contribution it had (zero if new) and whether it was live.
func (b *book) upsert(id []byte, c contrib) (contrib, bool) {
	if i, ok := b.index[string(id)]; ok {
		old := b.list[i].c
		if old != c {
			b.list[i].c = c
			b.changed(i)
		}
		return old, true
	}
	if b.index == nil {
		b.index = make(map[string]int)
	}
	s := string(id)
	b.index[s] = len(b.list)
	b.list = append(b.list, entry{id: s, c: c})
	return contrib{}, false
}

// rewind drops message id and every later one (every message when id is
// not live, as Gemini CLI's reader does) and returns what they contributed.
func (b *book) rewind(id []byte) contrib {
	i, ok := b.index[string(id)]
	if !ok {
		i = 0
	}
	return b.truncate(i)
}

// truncate drops the messages from position i on and returns what they
// contributed.
func (b *book) truncate(i int) contrib {
	var sum contrib
	for _, e := range b.list[i:] {
		sum = sum.add(e.c)
		delete(b.index, e.id)
	}
	clear(b.list[i:])
	b.list = b.list[:i]
	b.changed(i)
	return sum
}
