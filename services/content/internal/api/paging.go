package api

import (
	"strconv"

	"github.com/beaconcms/beacon/platform/apperr"
)

// Page sizes for every list method.
const (
	defaultPageSize = 20
	maxPageSize     = 100
)

// pageSize applies AIP-158: 0 means the default, larger values are capped, negative is an error.
func pageSize(n int32) (int, error) {
	switch {
	case n < 0:
		return 0, apperr.InvalidField("page_size", "must not be negative")
	case n == 0:
		return defaultPageSize, nil
	case n > maxPageSize:
		return maxPageSize, nil
	}
	return int(n), nil
}

// TokenCodec signs and checks page tokens (platform/pagetoken.Codec).
type TokenCodec interface {
	Encode(scope string, payload any) (string, error)
	Decode(token, scope string, payload any) error
}

func itoa(i int) string     { return strconv.Itoa(i) }
func itoa64(i int64) string { return strconv.FormatInt(i, 10) }
