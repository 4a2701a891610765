// SPDX-License-Identifier: GPL-2.0

// go-bench: the Go peer of every gmp workload, on Go's own runtime.
//
//	go-bench WORKLOAD ITERS NPROCS
//
// GOMAXPROCS is set to NPROCS, as gmp's nprocs.  Each workload prints one
// BENCH line in the format of bench/common.h; see bench/README.md.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

var (
	workload string
	iters    int
	nprocs   int
)

func result(wl, metric string, value float64, extra string) {
	resultOps(wl, iters, metric, value, extra)
}

// resultOps: a result over @ops operations where they are not ITERS.
func resultOps(wl string, ops int, metric string, value float64, extra string) {
	if extra != "" {
		extra = " " + extra
	}
	fmt.Printf("BENCH workload=%s impl=%s nprocs=%d iters=%d metric=%s value=%.6g%s\n",
		wl, impl(), nprocs, ops, metric, value, extra)
}

// impl names the column: bench/run sets BENCH_IMPL (go for the main Go
// peer, go119 for the second); run by hand, go.
func impl() string {
	if v := os.Getenv("BENCH_IMPL"); v != "" {
		return v
	}
	return "go"
}

func die(format string, a ...interface{}) {
	fmt.Printf("# error: "+format+"\n", a...)
	os.Exit(1)
}

func perOp(d time.Duration, ops int) float64 {
	return float64(d.Nanoseconds()) / float64(ops)
}

// spawn: ITERS "go f()" with a WaitGroup, as gmp-spawn.
func spawn() {
	var wg sync.WaitGroup
	f := func() { wg.Done() }
	c := countSyscalls()
	t0 := time.Now()
	wg.Add(iters)
	for i := 0; i < iters; i++ {
		go f()
	}
	wg.Wait()
	d := time.Since(t0)
	n := c.done()
	result("spawn", "ns_per_op", perOp(d, iters), "")
	reportSyscalls("syscalls-spawn", iters, n)

	// spawn-steady: waves of 64, each waited for, as gmp-spawn.
	const wave = 64
	c = countSyscalls()
	t0 = time.Now()
	done := 0
	for ; done < iters; done += wave {
		wg.Add(wave)
		for j := 0; j < wave; j++ {
			go f()
		}
		wg.Wait()
	}
	d = time.Since(t0)
	n = c.done()
	resultOps("spawn-steady", done, "ns_per_op", perOp(d, done), "")
	reportSyscalls("syscalls-spawn-steady", done, n)
}

// yield: two goroutines calling Gosched; run at GOMAXPROCS=1.
func yield() {
	var wg sync.WaitGroup
	y := func() {
		for i := 0; i < iters; i++ {
			runtime.Gosched()
		}
		wg.Done()
	}
	wg.Add(2)
	c := countSyscalls()
	t0 := time.Now()
	go y()
	go y()
	wg.Wait()
	d := time.Since(t0)
	n := c.done()
	result("yield", "ns_per_op", perOp(d, 2*iters), "")
	reportSyscalls("syscalls-yield", 2*iters, n)
}

// pingpong: an unbuffered channel round trip between two goroutines.
func pingpong() {
	ping, pong := make(chan int), make(chan int)
	go func() {
		for i := 0; i < iters; i++ {
			v := <-ping
			pong <- v + 1
		}
	}()
	t0 := time.Now()
	for i := 0; i < iters; i++ {
		ping <- i
		if v := <-pong; v != i+1 {
			die("pingpong: got %d, want %d", v, i+1)
		}
	}
	result("pingpong", "ns_per_op", perOp(time.Since(t0), iters), "")
}

// pingpong-locked: the same with main locked to its thread (LockOSThread):
// each round trip hands the P to the locked thread and back
// (golang/go#18023: about 15x the unlocked one).
func pingpongLocked() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ping, pong := make(chan int), make(chan int)
	go func() {
		for i := 0; i < iters; i++ {
			v := <-ping
			pong <- v + 1
		}
	}()
	t0 := time.Now()
	for i := 0; i < iters; i++ {
		ping <- i
		if v := <-pong; v != i+1 {
			die("pingpong-locked: got %d, want %d", v, i+1)
		}
	}
	result("pingpong-locked", "ns_per_op", perOp(time.Since(t0), iters), "")
}

// threadring: 503 goroutines in a ring, Benchmarks Game rules.
func threadring() {
	const ring = 503
	var ch [ring]chan int
	for i := range ch {
		ch[i] = make(chan int)
	}
	done := make(chan int)
	for i := 0; i < ring; i++ {
		go func(id int, in, out chan int) {
			for {
				n := <-in
				if n == 0 {
					done <- id + 1
					return
				}
				out <- n - 1
			}
		}(i, ch[i], ch[(i+1)%ring])
	}
	t0 := time.Now()
	ch[0] <- iters
	winner := <-done
	d := time.Since(t0)
	result("threadring", "hops_per_s", float64(iters)/d.Seconds(),
		fmt.Sprintf("ns_per_hop=%.1f winner=%d", perOp(d, iters), winner))
}

// fanout: fib(32), a goroutine for fib(n-1) at every n above the cutoff.
const fibN, fibCutoff = 32, 16

func fibSerial(n int) int {
	if n < 2 {
		return n
	}
	return fibSerial(n-1) + fibSerial(n-2)
}

func fib(n int) int {
	if n <= fibCutoff {
		return fibSerial(n)
	}
	var wg sync.WaitGroup
	var child int
	wg.Add(1)
	go func() {
		child = fib(n - 1)
		wg.Done()
	}()
	mine := fib(n - 2)
	wg.Wait()
	return mine + child
}

func fanout() {
	r := 0
	t0 := time.Now()
	for i := 0; i < iters; i++ {
		r = fib(fibN)
	}
	d := time.Since(t0)
	if r != 2178309 {
		die("fib(%d) = %d", fibN, r)
	}
	result("fanout", "ns_per_op", perOp(d, iters),
		fmt.Sprintf("n=%d cutoff=%d", fibN, fibCutoff))
}

// memory: resident bytes per goroutine parked on a channel receive.
func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return -1
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

func memory() {
	gate := make(chan struct{})
	var started, finished sync.WaitGroup
	started.Add(iters)
	finished.Add(iters)
	runtime.GC()
	rss0 := rss()
	t0 := time.Now()
	for i := 0; i < iters; i++ {
		go func() {
			started.Done()
			<-gate
			finished.Done()
		}()
	}
	started.Wait()
	time.Sleep(50 * time.Millisecond)
	rss1 := rss()
	d := time.Since(t0)
	close(gate)
	finished.Wait()
	name := fmt.Sprintf("memory-%d", iters)
	if iters%1000000 == 0 {
		name = fmt.Sprintf("memory-%dm", iters/1000000)
	} else if iters%1000 == 0 {
		name = fmt.Sprintf("memory-%dk", iters/1000)
	}
	result(name, "bytes_per_g", float64(rss1-rss0)/float64(iters),
		fmt.Sprintf("rss_before=%d rss_parked=%d spawn_ms=%.1f", rss0, rss1,
			float64(d.Microseconds())/1000))
}

// mutex: sync.Mutex lock+unlock pairs, by one goroutine or by four.
func mutex(workers int) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	counter := 0
	work := func() {
		for i := 0; i < iters; i++ {
			mu.Lock()
			counter++
			mu.Unlock()
		}
	}
	t0 := time.Now()
	if workers == 1 {
		work()
	} else {
		wg.Add(workers)
		for w := 0; w < workers; w++ {
			go func() { work(); wg.Done() }()
		}
		wg.Wait()
	}
	d := time.Since(t0)
	if counter != workers*iters {
		die("mutex: counter %d, want %d", counter, workers*iters)
	}
	result(workload, "ns_per_op", perOp(d, workers*iters),
		fmt.Sprintf("workers=%d", workers))
}

func main() {
	if len(os.Args) != 4 {
		die("usage: go-bench WORKLOAD ITERS NPROCS")
	}
	workload = os.Args[1]
	var err1, err2 error
	iters, err1 = strconv.Atoi(os.Args[2])
	nprocs, err2 = strconv.Atoi(os.Args[3])
	if err1 != nil || err2 != nil || iters <= 0 || nprocs <= 0 {
		die("ITERS and NPROCS must be positive integers")
	}
	runtime.GOMAXPROCS(nprocs)
	switch workload {
	case "spawn":
		spawn()
	case "yield":
		yield()
	case "pingpong":
		pingpong()
	case "pingpong-locked":
		pingpongLocked()
	case "threadring":
		threadring()
	case "fanout":
		fanout()
	case "memory":
		memory()
	case "mutex-uncontended":
		mutex(1)
	case "mutex-contended":
		mutex(4)
	case "handoff-plain", "handoff-syscall":
		handoff()
	case "preempt":
		preempt()
	case "echo-server":
		echoServer(iters)
	default:
		die("go-bench: no workload %s", workload)
	}
}
