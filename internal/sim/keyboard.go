package sim

import (
	"bufio"
	"io"
	"strings"
)

// promptText starts the bottom row of the live screen.
const promptText = "evsim> "

// maxInput bounds a typed line.
const maxInput = 200

// Keyboard reads keystrokes from a terminal that does not echo nor wait for
// Enter (non-canonical mode), shows them on the prompt row, and returns the
// lines the operator entered. Backspace deletes, Ctrl-U clears the line,
// arrow keys and other escape sequences are ignored.
func (s *LiveScreen) Keyboard(in io.Reader) io.Reader {
	s.mu.Lock()
	s.keyboard = true
	s.mu.Unlock()
	pr, pw := io.Pipe()
	go func() {
		defer pw.Close()
		br := bufio.NewReader(in)
		for {
			r, _, err := br.ReadRune()
			if err != nil {
				return
			}
			if r == 0x1b { // ESC [ ... final byte, or ESC O x
				if next, _, err := br.ReadRune(); err == nil && (next == '[' || next == 'O') {
					for {
						c, _, err := br.ReadRune()
						if err != nil || (c >= 0x40 && c <= 0x7e) {
							break
						}
					}
				}
				continue
			}
			if line, entered := s.key(r); entered {
				if _, err := io.WriteString(pw, line+"\n"); err != nil {
					return
				}
			}
		}
	}()
	return pr
}

// key applies one keystroke to the prompt; entered is true on Enter.
func (s *LiveScreen) key(r rune) (line string, entered bool) {
	s.mu.Lock()
	switch {
	case r == '\r' || r == '\n':
		line, entered = string(s.input), true
		s.input = s.input[:0]
	case r == 0x7f || r == 0x08:
		if len(s.input) > 0 {
			s.input = s.input[:len(s.input)-1]
		}
	case r == 0x15: // Ctrl-U
		s.input = s.input[:0]
	case r >= 0x20 && len(s.input) < maxInput:
		s.input = append(s.input, r)
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return line, entered
}

// ShowNote keeps text above the prompt until the next ShowNote: the command
// list after "help", or what the last command did.
func (s *LiveScreen) ShowNote(text string) {
	s.mu.Lock()
	s.note = strings.Split(strings.TrimRight(text, "\n"), "\n")
	if text == "" {
		s.note = nil
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}
