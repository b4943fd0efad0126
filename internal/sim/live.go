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
// screen's ring of lines instead of straight to the terminal.
type LiveScreen struct {
	out      io.Writer
	panel    central.Panel
	logger   *logrus.Logger
	interval time.Duration
	height   int
	width    int

	mu    sync.Mutex // guards lines: the logger's goroutines write, the drawer reads
	lines []string
}

// NewLiveScreen prepares a screen of height rows and width columns on out.
func NewLiveScreen(out io.Writer, panel central.Panel, logger *logrus.Logger, height, width int) *LiveScreen {
	if height < 15 {
		height = 15
	}
	return &LiveScreen{out: out, panel: panel, logger: logger, interval: 500 * time.Millisecond, height: height, width: width}
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
		}
	}
}

func (s *LiveScreen) draw(ctx context.Context) {
	qctx, cancel := context.WithTimeout(ctx, s.interval)
	snap, err := s.panel.Snapshot(qctx)
	cancel()
	var b bytes.Buffer
	b.WriteString(ansiHome)
	var table bytes.Buffer
	if err == nil {
		RenderPanel(&table, snap, PanelOptions{Colour: true, MaxRows: s.height / 2, Now: time.Now()})
	} else {
		table.WriteString("waiting for Central...\n")
	}
	table.WriteString(ansiBold + "── log " + strings.Repeat("─", 40) + ansiReset + "\n")
	// Each row ends by clearing the rest of the line: a shorter row must not
	// leave the tail of the previous frame's row behind.
	b.WriteString(strings.ReplaceAll(table.String(), "\n", ansiClearEL+"\n"))
	used := strings.Count(b.String(), "\n")
	s.mu.Lock()
	logRows := s.height - used - 1
	start := max(0, len(s.lines)-logRows)
	for _, l := range s.lines[start:] {
		if s.width > 0 && len(l) > s.width {
			l = l[:s.width]
		}
		b.WriteString(l + ansiClearEL + "\n")
	}
	s.mu.Unlock()
	b.WriteString(ansiClearEO)
	s.out.Write(b.Bytes())
}
