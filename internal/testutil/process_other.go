//go:build !linux

package testutil

import "syscall"

// dieWithParent: only Linux can tie a child to its parent's life; elsewhere
// the process group kill at the end of the test is all there is.
func dieWithParent(*syscall.SysProcAttr) {}
