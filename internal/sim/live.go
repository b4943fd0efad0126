package sim

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/evcharging/evsim/actors/central"
)

// LiveScreen keeps a terminal showing the panel at the top and the newest log
// lines below it, redrawn in place. While it runs, the logger writes into the
// screen's ring of lines instead of straight to the terminal. With Keyboard,
// the bottom row is a prompt that shows what the operator types, and a note
// above it (the command list after "help", or the last command's outcome)
// stays until the next command.
type LiveScreen struct {
	out      io.Writer
	panel    central.Panel
	logger   *logrus.Logger
	interval time.Duration
	height   int
	width    int
	wake     chan struct{} // a key was pressed: redraw now

	mu       sync.Mutex // guards what follows: the logger's and the keyboard's goroutines write, the drawer reads
	lines    []string
	note     []string
	input    []rune
	keyboard bool
}

// NewLiveScreen prepares a screen of height rows and width columns on out.
func NewLiveScreen(out io.Writer, panel central.Panel, logger *logrus.Logger, height, width int) *LiveScreen {
	if height < 15 {
		height = 15
	}
	return &LiveScreen{out: out, panel: panel, logger: logger, interval: 500 * time.Millisecond, height: height, width: width,
		wake: make(chan struct{}, 1)}
}

// Write receives the logger's formatted lines.
func (s *LiveScreen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		s.lines = append(s.lines, l)
	}
	if keep := s.height; len(s.lines) > keep {
		s.lines = append(s.lines[:0], s.lines[len(s.lines)-keep:]...)
	}
	return len(p), nil
}

// Run redraws until ctx ends, then gives the logger its output back and
// leaves the last frame on screen.
func (s *LiveScreen) Run(ctx context.Context) {
	previous := s.logger.Out
	s.logger.SetOutput(s)
	defer s.logger.SetOutput(previous)
	io.WriteString(s.out, "\x1b[2J")
	tick := time.NewTicker(s.interval)
	defer tick.Stop()
	for {
		s.draw(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-s.wake:
		}
	}
}

func (s *LiveScreen) draw(ctx context.Context) {
	qctx, cancel := context.WithTimeout(ctx, s.interval)
	snap, err := s.panel.Snapshot(qctx)
	cancel()
	var b bytes.Buffer
	b.WriteString(ansiHome)
	s.mu.Lock()
	noteRows := len(s.note)
	s.mu.Unlock()
	var table bytes.Buffer
	if err == nil {
		// A note (the command list) takes rows from the table, not the other way round.
		rows := max(1, min(s.height/2, s.height-noteRows-8))
		RenderPanel(&table, snap, PanelOptions{Colour: true, MaxRows: rows, Now: time.Now()})
	} else {
		table.WriteString("waiting for Central...\n")
	}
	table.WriteString(ansiBold + "── log " + strings.Repeat("─", 40) + ansiReset + "\n")
	// Each row ends by clearing the rest of the line: a shorter row must not
	// leave the tail of the previous frame's row behind.
	b.WriteString(strings.ReplaceAll(table.String(), "\n", ansiClearEL+"\n"))
	used := strings.Count(b.String(), "\n")
	s.mu.Lock()
	free := s.height - used - 1
	note := s.note
	if s.keyboard {
		free-- // the prompt
		if len(note) > free {
			note = note[:max(0, free)]
		}
		free -= len(note)
	}
	logRows := max(0, free)
	start := max(0, len(s.lines)-logRows)
	for _, l := range s.lines[start:] {
		b.WriteString(s.clip(l) + ansiClearEL + "\n")
	}
	if s.keyboard {
		for _, l := range note {
			b.WriteString(ansiBold + s.clip(l) + ansiReset + ansiClearEL + "\n")
		}
		// The prompt is the last row and the cursor stays after the typed text.
		b.WriteString(ansiClearEO + s.clip(promptText+string(s.input)))
	} else {
		b.WriteString(ansiClearEO)
	}
	s.mu.Unlock()
	s.out.Write(b.Bytes())
}

func (s *LiveScreen) clip(l string) string {
	if s.width > 0 && len(l) > s.width {
		return l[:s.width]
	}
	return l
}
