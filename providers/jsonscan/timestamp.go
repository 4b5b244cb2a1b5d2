package jsonscan

import (
	"time"
)

// ParseTime parses a timestamp string value. The agents write the fixed
// layout 2006-01-02T15:04:05.000Z (JavaScript's toISOString), which is
// decoded by FastTime without time.Parse; anything else falls back to
// time.Parse with RFC 3339, which decides. The result is in UTC; ok is
// false when the value is not a valid timestamp. buf is scratch space for
// decoding an escaped value.
func ParseTime(s Str, buf []byte) (t time.Time, ok bool) {
	if !s.Esc {
		if t, ok := FastTime(s.Raw); ok {
			return t, true
		}
	}
	v, _ := s.Text(buf)
	t, err := time.Parse(time.RFC3339Nano, string(v))
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// FastTime decodes exactly "YYYY-MM-DDTHH:MM:SS.mmmZ" with every field in
// range and the year from 1970 on; it reports false for anything else
// (time.Parse then decides).
func FastTime(b []byte) (time.Time, bool) {
	if len(b) != 24 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' ||
		b[16] != ':' || b[19] != '.' || b[23] != 'Z' {
		return time.Time{}, false
	}
	for _, i := range [...]int{0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22} {
		if !IsDigit(b[i]) {
			return time.Time{}, false
		}
	}
	d2 := func(i int) int { return int(b[i]-'0')*10 + int(b[i+1]-'0') }
	year := d2(0)*100 + d2(2)
	month, day := d2(5), d2(8)
	hour, minute, sec := d2(11), d2(14), d2(17)
	ms := int(b[20]-'0')*100 + d2(21)
	if year < 1970 || month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	days := daysFromCivil(year, month, day)
	unix := days*86400 + int64(hour*3600+minute*60+sec)
	return time.Unix(unix, int64(ms)*1e6).UTC(), true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil is the number of days from 1970-01-01 to the given
// proleptic Gregorian date (H. Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400 // y ≥ 1969 here, so no negative-division adjustment
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era*146097 + doe - 719468)
}
