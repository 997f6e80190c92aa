package api

import (
	"strconv"
)

// TokenCodec signs and checks page tokens (platform/pagetoken.Codec).
type TokenCodec interface {
	Encode(scope string, payload any) (string, error)
	Decode(token, scope string, payload any) error
}

func itoa(i int) string     { return strconv.Itoa(i) }
func itoa64(i int64) string { return strconv.FormatInt(i, 10) }
