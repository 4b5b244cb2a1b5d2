// Package jsonscan is a minimal validating JSON scanner shared by the
// session providers. It accepts exactly the texts encoding/json accepts
// (RFC 8259 grammar, no control characters in strings, valid escapes,
// nesting depth ≤ MaxDepth; invalid UTF-8 is tolerated as encoding/json
// tolerates it), and it skips values it is not asked about at several GB/s:
// strings, which are most of an agent's transcript (messages, tool output,
// encrypted reasoning), are scanned eight bytes at a time.
//
// The scanner does not build a tree. A provider walks the members it cares
// about with [Member] and [Next], reads the values it wants with [ScanStr],
// [ScanInt] or [ScanTrue], and skips the rest with [SkipValue]; all of it
// works on the input in place and allocates nothing.
//
// Every scanning function takes the input and a position and returns the
// position after what it consumed, or -1 when the input is not valid JSON
// there. Functions that take a depth take the nesting depth of the
// container holding the value (0 at the top level), so that the limit of
// [MaxDepth] applies to the whole text.
package jsonscan
