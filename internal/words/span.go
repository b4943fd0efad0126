package words

import (
	"fmt"
	"sort"
	"strings"
)

// Thousands writes n with a comma between thousands: 20000 is "20,000".
func Thousands(n int) string {
	if n < 0 {
		return "-" + Thousands(-n)
	}
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// Span names the ids of a line about many: all of up to three
// ("CP-1, CP-2"), else the first and the last in order ("CP-0001 … CP-2000").
func Span(ids []string) string {
	sorted := append([]string(nil), ids...)
	sort.Strings(sorted)
	if len(sorted) <= 3 {
		return strings.Join(sorted, ", ")
	}
	return sorted[0] + " … " + sorted[len(sorted)-1]
}
