//go:build unix

package startimage

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// mapFile maps the size bytes of f read-only; unmap ends the mapping.
func mapFile(f *os.File, size int64) (data []byte, unmap func() error, err error) {
	if size <= 0 || int64(int(size)) != size {
		return nil, nil, fmt.Errorf("cannot map %d bytes", size)
	}
	data, err = unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, nil, fmt.Errorf("mapping %s: %w", f.Name(), err)
	}
	return data, func() error { return unix.Munmap(data) }, nil
}
