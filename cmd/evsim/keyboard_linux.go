package main

import (
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// keyboardMode switches a terminal on in to non-canonical mode without echo,
// so the live screen sees each key and draws it on its prompt row; Ctrl-C
// still interrupts (ISIG stays on). restore gives the terminal back as it was.
func keyboardMode(in io.Reader) (restore func(), err error) {
	f, ok := in.(*os.File)
	if !ok || !isTerminal(f) {
		return nil, errors.New("stdin is not a terminal")
	}
	fd := int(f.Fd())
	was, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, err
	}
	raw := *was
	raw.Lflag &^= unix.ICANON | unix.ECHO
	raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &raw); err != nil {
		return nil, err
	}
	return func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, was) }, nil
}
