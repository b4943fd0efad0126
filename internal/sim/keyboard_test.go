package sim

import (
	"bufio"
	"strings"
	"testing"
)

// TestKeyboardEditsTheLine: backspace deletes, Ctrl-U clears, arrow keys are
// ignored, Enter hands the line over.
func TestKeyboardEditsTheLine(t *testing.T) {
	s := NewLiveScreen(&strings.Builder{}, nil, nil, 40, 120)
	lines := bufio.NewScanner(s.Keyboard(strings.NewReader("stpo\x7f\x7fop CP-00\x1b[D\x1b[A2\r" + "junk\x15help\n")))
	var got []string
	for lines.Scan() {
		got = append(got, lines.Text())
	}
	if strings.Join(got, "|") != "stop CP-002|help" {
		t.Errorf("lines %q, want [stop CP-002 help]", got)
	}
}
