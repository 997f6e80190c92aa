package startimage

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func doc(tb testing.TB, id string, n int) []byte {
	tb.Helper()
	raw, err := bson.Marshal(bson.D{{Key: "_id", Value: id}, {Key: "n", Value: int64(n)}})
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

var key = Key{Database: "beacon_content", Schema: 12, Head: 40}

// recordsOf returns the records of s, nil for none, and releases s when the test ends.
func recordsOf(tb testing.TB, s *Sealed) []Record {
	tb.Helper()
	if s == nil {
		return nil
	}
	tb.Cleanup(func() {
		if err := s.Release(); err != nil {
			tb.Errorf("Release: %v", err)
		}
	})
	return s.Records
}

// sealedImage writes an image of three records in a new directory, sealed at key.
func sealedImage(tb testing.TB) (dir string, want []Record) {
	tb.Helper()
	dir = filepath.Join(tb.TempDir(), "image")
	im, got, err := Open(dir, key)
	if err != nil || got != nil {
		tb.Fatalf("Open of a new directory = %v, %v; want no records, no error", recordsOf(tb, got), err)
	}
	want = []Record{{'i', doc(tb, "a", 1)}, {'l', doc(tb, "a", 2)}, {'i', doc(tb, "b", 3)}}
	for _, r := range want {
		im.Append(r.Kind, r.Doc)
	}
	if err := im.Close(key); err != nil {
		tb.Fatal(err)
	}
	return dir, want
}

func TestOpen(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		want  Key
		spoil func(tb testing.TB, dir string)
		used  bool
	}{
		{name: "sealed at the key", want: key, used: true},
		{name: "another head", want: Key{Database: key.Database, Schema: key.Schema, Head: key.Head + 1}},
		{name: "another schema", want: Key{Database: key.Database, Schema: key.Schema + 1, Head: key.Head}},
		{name: "another database", want: Key{Database: "beacon_other", Schema: key.Schema, Head: key.Head}},
		{name: "no seal (a crash)", want: key, spoil: func(tb testing.TB, dir string) {
			if err := os.Remove(filepath.Join(dir, sealFile)); err != nil {
				tb.Fatal(err)
			}
		}},
		{name: "a seal of another format", want: key, spoil: func(tb testing.TB, dir string) {
			raw := []byte(`{"format":2,"key":{"database":"beacon_content","schema":12,"head":40},"size":0}`)
			if err := os.WriteFile(filepath.Join(dir, sealFile), raw, 0o600); err != nil {
				tb.Fatal(err)
			}
		}},
		{name: "a seal that is not JSON", want: key, spoil: func(tb testing.TB, dir string) {
			if err := os.WriteFile(filepath.Join(dir, sealFile), []byte("{"), 0o600); err != nil {
				tb.Fatal(err)
			}
		}},
		{name: "a whole record added after the seal", want: key, spoil: func(tb testing.TB, dir string) {
			f, err := os.OpenFile(filepath.Join(dir, entriesFile), os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				tb.Fatal(err)
			}
			defer f.Close()
			if _, err := f.Write(append([]byte{'i'}, doc(tb, "c", 4)...)); err != nil {
				tb.Fatal(err)
			}
		}},
		{name: "entries cut short", want: key, spoil: func(tb testing.TB, dir string) {
			if err := os.Truncate(filepath.Join(dir, entriesFile), 10); err != nil {
				tb.Fatal(err)
			}
		}},
		{name: "entries missing", want: key, spoil: func(tb testing.TB, dir string) {
			if err := os.Remove(filepath.Join(dir, entriesFile)); err != nil {
				tb.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir, want := sealedImage(t)
			if tc.spoil != nil {
				tc.spoil(t, dir)
			}
			im, sealed, err := Open(dir, tc.want)
			if err != nil {
				t.Fatal(err)
			}
			defer im.Discard()
			got := recordsOf(t, sealed)
			if !tc.used {
				want = nil
			}
			if !equalRecords(got, want) {
				t.Errorf("Open = %d records %v, want %d %v", len(got), got, len(want), want)
			}
			// Whatever it read, Open unsealed the directory: a crash from now on leaves no
			// image a start would trust.
			if _, err := os.Stat(filepath.Join(dir, sealFile)); !os.IsNotExist(err) {
				t.Errorf("the seal is still there after Open (stat: %v)", err)
			}
			if _, again, _ := Open(dir, tc.want); again != nil {
				t.Errorf("a second Open read %d records: the first did not unseal", len(recordsOf(t, again)))
			}
		})
	}
}

func equalRecords(a, b []Record) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Kind != b[i].Kind || !bytes.Equal(a[i].Doc, b[i].Doc) {
			return false
		}
	}
	return true
}

// An image that failed a write, or was discarded, is not sealed: the next start reads the store.
func TestUnsealed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		stop func(*Image) error
	}{
		{"a document that is not BSON", func(im *Image) error {
			im.Append('i', []byte("not a document"))
			return im.Close(key)
		}},
		{"discarded", func(im *Image) error { im.Discard(); return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "image")
			im, _, err := Open(dir, key)
			if err != nil {
				t.Fatal(err)
			}
			im.Append('i', doc(t, "a", 1))
			_ = tc.stop(im)
			if _, got, _ := Open(dir, key); got != nil {
				t.Errorf("Open after %s read %d records, want none", tc.name, len(recordsOf(t, got)))
			}
		})
	}
	t.Run("appends after close are dropped", func(t *testing.T) {
		t.Parallel()
		dir, want := sealedImage(t)
		im, sealed, err := Open(dir, key)
		got := recordsOf(t, sealed)
		if err != nil || !equalRecords(got, want) {
			t.Fatalf("Open = %v, %v", got, err)
		}
		for _, r := range got {
			im.Append(r.Kind, r.Doc)
		}
		if err := im.Close(key); err != nil {
			t.Fatal(err)
		}
		im.Append('i', doc(t, "late", 9))
		if err := im.Close(key); err == nil {
			t.Error("a second Close succeeded")
		}
		if _, again, _ := Open(dir, key); !equalRecords(recordsOf(t, again), want) {
			t.Errorf("Open = %v, want the records before Close %v", again, want)
		}
	})
}

// The records of a sealed image stay readable, unchanged, while the next image is written into
// the same directory and sealed, until they are released; the next Open reads the new image.
func TestRecordsOutliveTheNextImage(t *testing.T) {
	t.Parallel()
	dir, want := sealedImage(t)
	im, sealed, err := Open(dir, key)
	if err != nil || sealed == nil {
		t.Fatalf("Open = %v, %v", sealed, err)
	}
	var next []Record
	for i := range 2000 { // far past the old file's size and the writer's buffer
		r := Record{'l', doc(t, fmt.Sprintf("next-%d", i), i)}
		im.Append(r.Kind, r.Doc)
		next = append(next, r)
	}
	newKey := Key{Database: key.Database, Schema: key.Schema, Head: key.Head + 1}
	if err := im.Close(newKey); err != nil {
		t.Fatal(err)
	}
	if !equalRecords(sealed.Records, want) {
		t.Errorf("the old records changed under the new image: %v, want %v", sealed.Records, want)
	}
	if err := sealed.Release(); err != nil {
		t.Fatal(err)
	}
	if err := sealed.Release(); err != nil {
		t.Errorf("a second Release: %v", err)
	}
	if sealed.Records != nil {
		t.Error("Release left the records reachable")
	}
	_, again, err := Open(dir, newKey)
	if err != nil || !equalRecords(recordsOf(t, again), next) {
		t.Fatalf("Open of the new image: %v, want its %d records", err, len(next))
	}
}

// FuzzParse: any entries file parses without panicking, and the records it yields are whole
// BSON-length-delimited documents that cover the input exactly.
func FuzzParse(f *testing.F) {
	f.Add(append([]byte{'i'}, doc(f, "a", 1)...))
	f.Add([]byte{'l', 5, 0, 0, 0, 0})
	f.Add([]byte{'l', 0xff, 0xff, 0xff, 0x7f, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		records, err := parse(data)
		if err != nil {
			return
		}
		total := 0
		for _, r := range records {
			if len(r.Doc) < 5 || r.Doc[len(r.Doc)-1] != 0 {
				t.Fatalf("record %v is not a delimited document", r)
			}
			total += 1 + len(r.Doc)
		}
		if total != len(data) {
			t.Fatalf("records cover %d of %d bytes", total, len(data))
		}
	})
}
