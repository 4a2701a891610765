// SPDX-License-Identifier: GPL-2.0

package main

// The syscall counter of bench/common.h, for Go: a perf counter on the
// raw_syscalls:sys_enter tracepoint for each thread the process has, each
// inherited by the threads it creates later.  Go starts its threads before
// main, so one counter per existing thread is needed.

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

type scCounter struct {
	fds      []int
	start    int64
	overhead int64
	err      error
}

func tracepointID(event string) (int64, error) {
	var lastErr error
	for _, root := range []string{"/sys/kernel/tracing/events", "/sys/kernel/debug/tracing/events"} {
		b, err := os.ReadFile(root + "/" + event + "/id")
		if err != nil {
			lastErr = err
			continue
		}
		return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	}
	return -1, lastErr
}

func (c *scCounter) read() int64 {
	var total int64
	buf := make([]byte, 8)
	for _, fd := range c.fds {
		if n, err := syscall.Read(fd, buf); err != nil || n != 8 {
			return -1
		}
		total += int64(binary.LittleEndian.Uint64(buf))
	}
	return total
}

// countSyscalls starts counting; done() returns the count since, or -1.
func countSyscalls() *scCounter {
	c := &scCounter{}
	id, err := tracepointID("raw_syscalls/sys_enter")
	if err != nil {
		c.err = err
		return c
	}
	// struct perf_event_attr, PERF_ATTR_SIZE_VER5 (112 bytes): type,
	// size, config, then the flag bits at byte 40 (bit 1: inherit).
	var attr [112]byte
	binary.LittleEndian.PutUint32(attr[0:], 2) // PERF_TYPE_TRACEPOINT
	binary.LittleEndian.PutUint32(attr[4:], uint32(len(attr)))
	binary.LittleEndian.PutUint64(attr[8:], uint64(id))
	binary.LittleEndian.PutUint64(attr[40:], 1<<1)
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		c.err = err
		return c
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		fd, _, errno := syscall.Syscall6(syscall.SYS_PERF_EVENT_OPEN,
			uintptr(unsafe.Pointer(&attr[0])), uintptr(tid),
			^uintptr(0), ^uintptr(0), 8 /* PERF_FLAG_FD_CLOEXEC */, 0)
		if errno != 0 {
			c.err = errno
			return c
		}
		c.fds = append(c.fds, int(fd))
	}
	a := c.read()
	b := c.read()
	c.overhead = b - a
	c.start = c.read()
	return c
}

func (c *scCounter) done() int64 {
	if c.err != nil {
		return -1
	}
	end := c.read()
	if end < 0 || c.start < 0 {
		return -1
	}
	return end - c.start - c.overhead
}

func reportSyscalls(wl string, ops int, n int64) {
	if n < 0 {
		fmt.Printf("# %s: syscall count unavailable (perf tracepoint raw_syscalls:sys_enter)\n", wl)
		return
	}
	resultOps(wl, ops, "syscalls_per_op", float64(n)/float64(ops), fmt.Sprintf("syscalls=%d", n))
}
