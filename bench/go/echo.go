// SPDX-License-Identifier: GPL-2.0

package main

import (
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
)

// echoServer is the echo workload's Go server (bench/echo.c is the
// client): Go's net package, a goroutine per connection, echoing until the
// client closes; SIGTERM closes the listener and exits 0.
//
//	go-bench echo-server PORT NPROCS
func echoServer(port int) {
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		die("echo-server: %v", err)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sigs
		ln.Close()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			os.Exit(0) // closed by SIGTERM
		}
		go func(c net.Conn) {
			io.Copy(c, c)
			c.Close()
		}(c)
	}
}
