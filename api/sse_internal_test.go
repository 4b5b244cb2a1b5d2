package api

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestReadSSE(t *testing.T) {
	in := ": hello\r\n" +
		"retry: 1000\n" +
		"id: 1\nevent: created\ndata: {\"a\":1}\n\n" +
		"id: 2\r\ndata:two\r\ndata: lines\r\n\r\n" + // CRLF, no space, multi-line data
		"event: ignored-without-data\n\n" +
		"id: 3\nunknown: field\ndata: x\n\n" +
		"id: 4\ndata: unterminated"
	var got []sseMessage
	err := readSSE(strings.NewReader(in), func(m sseMessage) error {
		got = append(got, m)
		return nil
	})
	want := []sseMessage{
		{ID: "1", Event: "created", Data: `{"a":1}`},
		{ID: "2", Data: "two\nlines"},
		{ID: "3", Data: "x"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("messages\n got %+v\nwant %+v", got, want)
	}
	if !isReadError(err) || !errors.Is(err, io.EOF) {
		t.Errorf("end error = %v, want a read error wrapping io.EOF", err)
	}

	stop := errors.New("stop")
	err = readSSE(strings.NewReader("data: a\n\ndata: b\n\n"), func(sseMessage) error { return stop })
	if !errors.Is(err, stop) || isReadError(err) {
		t.Errorf("dispatch error = %v, want stop", err)
	}
}
