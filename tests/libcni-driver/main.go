// libcni-driver: drives a CNI plugin chain through the reference runtime library (libcni, from Debian's
// golang-github-appc-cni-dev), exactly as containerd or CRI-O do, so ambient-cni is tested by a runtime we
// did not write. Built by the tests with Debian's Go, offline (GOPATH mode).
//
// usage: libcni-driver add|check|del CONFLIST NETNS CONTAINER_ID [K=V ...]
// env:   CNI_PATH (plugin dirs, ':'-separated), CNI_CACHE_DIR (result cache)
// On failure it prints libcni's error and, when a plugin returned a CNI error object, one more line
// "cni error: code=N msg=… details=…" (libcni's own message drops the code), and exits 1.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
)

func main() {
	if len(os.Args) < 5 {
		fmt.Fprintln(os.Stderr, "usage: libcni-driver add|check|del CONFLIST NETNS CONTAINER_ID [K=V ...]")
		os.Exit(2)
	}
	cmd, confPath, netns, id := os.Args[1], os.Args[2], os.Args[3], os.Args[4]
	list, err := libcni.ConfListFromFile(confPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "config:", err)
		os.Exit(2)
	}
	rt := &libcni.RuntimeConf{ContainerID: id, NetNS: netns, IfName: "eth0"}
	for _, kv := range os.Args[5:] {
		if k, v, ok := strings.Cut(kv, "="); ok {
			rt.Args = append(rt.Args, [2]string{k, v})
		}
	}
	cfg := libcni.NewCNIConfigWithCacheDir(strings.Split(os.Getenv("CNI_PATH"), ":"), os.Getenv("CNI_CACHE_DIR"), nil)
	ctx := context.Background()
	switch cmd {
	case "add":
		r, err := cfg.AddNetworkList(ctx, list, rt)
		if err != nil {
			fail(err)
		}
		_ = r.Print()
	case "check":
		err = cfg.CheckNetworkList(ctx, list, rt)
	case "del":
		err = cfg.DelNetworkList(ctx, list, rt)
	default:
		err = fmt.Errorf("unknown command %q", cmd)
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	var cniErr *types.Error
	if errors.As(err, &cniErr) {
		fmt.Fprintf(os.Stderr, "cni error: code=%d msg=%q details=%q\n", cniErr.Code, cniErr.Msg, cniErr.Details)
	}
	os.Exit(1)
}
