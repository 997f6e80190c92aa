package mongodb_test

import (
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/beaconcms/beacon/platform/mongodb"
	"github.com/beaconcms/beacon/platform/mongodb/mongodbtest"
)

// TestEmbeddedIsReachableOnlyByItsOwner is the regression test for "the embedded store accepts
// anyone on the machine": no TCP listener, and a socket only its owner can reach, even in a data
// directory created with loose permissions.
func TestEmbeddedIsReachableOnlyByItsOwner(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	dataDir := filepath.Join(t.TempDir(), "store")
	if err := os.Mkdir(dataDir, 0o755); err != nil { // as an operator might have made it
		t.Fatal(err)
	}
	before := mongodbtest.ListeningTCPPorts(t, os.Getpid())
	e := startEmbedded(t, dataDir, nil)

	if after := mongodbtest.ListeningTCPPorts(t, os.Getpid()); len(after) != len(before) {
		t.Errorf("TCP listeners before StartEmbedded %v, after %v: the store must not listen on TCP", before, after)
	}
	if strings.Contains(e.URI(), "127.0.0.1") || strings.Contains(e.URI(), "localhost") {
		t.Errorf("URI %q names a TCP host", e.URI())
	}
	for _, c := range []struct {
		path string
		want fs.FileMode
	}{{dataDir, 0o700}, {e.Socket(), 0o600}} {
		fi, err := os.Lstat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != c.want {
			t.Errorf("%s: mode %v, want %v (no access for group and others)", c.path, got, c.want)
		}
	}
	if fi, _ := os.Lstat(e.Socket()); fi.Mode().Type() != fs.ModeSocket {
		t.Errorf("%s is not a socket", e.Socket())
	}
}

func TestEmbeddedRefusesADataDirectoryInUse(t *testing.T) {
	dataDir := t.TempDir()
	startEmbedded(t, dataDir, nil)
	if e, err := mongodb.StartEmbedded(t.Context(), dataDir, nil); err == nil {
		_ = e.Close()
		t.Fatal("a second server started on a data directory in use")
	} else if !strings.Contains(err.Error(), "another process serves this data directory") {
		t.Fatalf("error %q does not say the directory is in use", err)
	}
}

func TestEmbeddedReplacesAStaleSocket(t *testing.T) {
	dataDir := t.TempDir()
	// A socket nobody answers on, as a killed process leaves it.
	lis, err := net.Listen("unix", filepath.Join(dataDir, mongodb.SocketName))
	if err != nil {
		t.Fatal(err)
	}
	lis.(*net.UnixListener).SetUnlinkOnClose(false)
	_ = lis.Close()
	e := startEmbedded(t, dataDir, nil)
	c, err := net.DialTimeout("unix", e.Socket(), time.Second)
	if err != nil {
		t.Fatalf("the new server does not answer on %s: %v", e.Socket(), err)
	}
	_ = c.Close()
}
