package words

import "testing"

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 20000: "20,000", 1234567: "1,234,567", -4500: "-4,500"} {
		if got := Thousands(n); got != want {
			t.Errorf("Thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestSpan(t *testing.T) {
	if got := Span([]string{"CP-2", "CP-1"}); got != "CP-1, CP-2" {
		t.Errorf("two ids: %q", got)
	}
	if got := Span([]string{"CP-09", "CP-03", "CP-20", "CP-11"}); got != "CP-03 … CP-20" {
		t.Errorf("four ids: %q", got)
	}
}
