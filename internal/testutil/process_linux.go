package testutil

import "syscall"

// dieWithParent asks the kernel to SIGKILL the child when its parent
// thread ends (see Cmd for why that thread is the spawner's).
func dieWithParent(attr *syscall.SysProcAttr) { attr.Pdeathsig = syscall.SIGKILL }
