// SPDX-License-Identifier: GPL-2.0

package main

import (
	"fmt"
	"sort"
	"sync/atomic"
	"syscall"
	"time"
)

// handoff: the Go peer of gmp-handoff.  syscall.Read on a blocking pipe
// brackets itself (entersyscall); sysmon retakes the P once it sees the
// call last (20 us to 10 ms) and another M runs the other goroutine.
func handoff() {
	var p [2]int
	if err := syscall.Pipe(p[:]); err != nil {
		die("pipe: %v", err)
	}
	c := make(chan int)
	done := make(chan bool)
	var tBlock atomic.Int64
	lat := make([]int64, iters)
	go func() {
		for i := 0; i < iters; i++ {
			<-c
			for tBlock.Load() == 0 {
			}
			lat[i] = time.Now().UnixNano() - tBlock.Load()
			tBlock.Store(0)
			if _, err := syscall.Write(p[1], []byte{'x'}); err != nil {
				die("write: %v", err)
			}
		}
		done <- true
	}()
	buf := make([]byte, 1)
	for i := 0; i < iters; i++ {
		c <- 1
		tBlock.Store(time.Now().UnixNano())
		if _, err := syscall.Read(p[0], buf); err != nil {
			die("read: %v", err)
		}
	}
	<-done
	var sum float64
	for _, v := range lat {
		sum += float64(v)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	result(workload, "ns_per_op", sum/float64(iters),
		fmt.Sprintf("p50_ns=%d p99_ns=%d", lat[iters/2], lat[iters*99/100]))
}

// preempt: the Go peer of gmp-preempt.  Go preempts the spinner
// asynchronously (a signal), since 1.14.
func preempt() {
	var stop atomic.Bool
	done := make(chan bool)
	go func() {
		n := 0
		for !stop.Load() {
			n++
		}
		done <- n >= 0
	}()
	late := make([]int64, iters)
	tick := 10 * time.Millisecond
	for i := 0; i < iters; i++ {
		due := time.Now().Add(tick)
		time.Sleep(tick)
		late[i] = int64(time.Since(due))
	}
	stop.Store(true)
	<-done
	var sum float64
	for _, v := range late {
		sum += float64(v)
	}
	sort.Slice(late, func(i, j int) bool { return late[i] < late[j] })
	result("preempt", "max_late_ns", float64(late[iters-1]),
		fmt.Sprintf("mean_ns=%.0f p99_ns=%d", sum/float64(iters), late[iters*99/100]))
}
