//go:build !linux

package main

import (
	"errors"
	"io"
)

// keyboardMode is only built for Linux terminals; elsewhere commands are
// read line by line, as the terminal echoes them.
func keyboardMode(io.Reader) (restore func(), err error) {
	return nil, errors.New("keyboard mode is only supported on Linux")
}
