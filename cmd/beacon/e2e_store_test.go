package main_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/mongodb/mongodbtest"
)

// TestEmbeddedStoreIsPrivate is the regression test for "the embedded store accepts anyone on the
// machine": beacon dev and beacon store serve it on a unix socket in a 0700 directory, open no TCP
// listener for it, and print no TCP address.
func TestEmbeddedStoreIsPrivate(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	checkPrivate := func(t *testing.T, in *instance, dataDir string) {
		t.Helper()
		socket := filepath.Join(dataDir, "store", mongodb.SocketName)
		for _, c := range []struct {
			path string
			want fs.FileMode
		}{{dataDir, 0o700}, {filepath.Join(dataDir, "store"), 0o700}, {socket, 0o600}} {
			fi, err := os.Lstat(c.path)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got&0o077 != 0 || got != c.want {
				t.Errorf("%s: mode %v, want %v (nothing for group and others)", c.path, got, c.want)
			}
		}
		if !strings.Contains(in.storeURI, "mongodb.sock") || strings.Contains(in.storeURI, "127.0.0.1") {
			t.Errorf("printed store URI %q, want the socket only", in.storeURI)
		}
		var allowed []int // the process's own REST and gRPC ports
		for _, addr := range []string{in.restURL, in.grpcAddr} {
			if i := strings.LastIndex(addr, ":"); addr != "" && i >= 0 {
				port, err := strconv.Atoi(addr[i+1:])
				if err != nil {
					t.Fatalf("address %q", addr)
				}
				allowed = append(allowed, port)
			}
		}
		for _, port := range mongodbtest.ListeningTCPPorts(t, in.cmd.Process.Pid) {
			if !slices.Contains(allowed, port) {
				t.Errorf("process listens on TCP port %d, which is neither its REST nor its gRPC port (%v)", port, allowed)
			}
		}
	}

	t.Run("dev", func(t *testing.T) {
		dataDir := filepath.Join(t.TempDir(), "d")
		in := startDev(t, dataDir)
		checkPrivate(t, in, dataDir)
	})

	t.Run("store", func(t *testing.T) {
		dataDir := filepath.Join(t.TempDir(), "d")
		in := startUntil(t, "store ", "store", "--data-dir", dataDir, "--log-level", "warn")
		if in.socket != filepath.Join(dataDir, "store", mongodb.SocketName) {
			t.Errorf("printed socket %q", in.socket)
		}
		checkPrivate(t, in, dataDir)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		client, err := mongodb.Connect(ctx, in.storeURI)
		if err != nil {
			t.Fatalf("the printed URI does not reach the store: %v", err)
		}
		_ = client.Disconnect(ctx)
	})
}
