package delivery

import (
	"testing"
	"time"

	"github.com/beaconcms/beacon/platform/apperr"
)

func TestEtagMatches(t *testing.T) {
	const h = "0123456789abcdef01234567"
	tests := []struct {
		name string
		inm  string
		want bool
	}{
		{"strong", `"` + h + `"`, true},
		{"weak", `W/"` + h + `"`, true},
		{"gzip representation", `"` + h + `-gz"`, true},
		{"weak gzip representation", `W/"` + h + `-gz"`, true},
		{"surrounding spaces", `  "` + h + `"  `, true},
		{"list, last", `"aaaa", W/"bbbb", "` + h + `"`, true},
		{"list, first, no spaces", `"` + h + `","aaaa"`, true},
		{"list of others", `"aaaa", "bbbb-gz", W/"cccc"`, false},
		{"star", `*`, true},
		{"star with spaces", ` * `, true},
		{"star inside a list is not special", `"aaaa", *`, false},
		{"quoted star", `"*"`, false},
		{"other hash", `"fedcba9876543210fedcba98"`, false},
		{"prefix of hash", `"` + h[:10] + `"`, false},
		{"hash plus suffix", `"` + h + `x"`, false},
		{"other suffix", `"` + h + `-br"`, false},
		{"lowercase weak prefix is not weak", `w/"` + h + `"`, false},
		{"empty", ``, false},
		{"empty tag", `""`, false},
		{"garbage", `@@@,,,;;;W/`, false},
		{"only commas", `,,,`, false},
		{"unbalanced quotes", `"` + h, true}, // lenient, like most servers
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := etagMatches(tt.inm, h); got != tt.want {
				t.Errorf("etagMatches(%q) = %v, want %v", tt.inm, got, tt.want)
			}
		})
	}
}

func TestAcceptsGzip(t *testing.T) {
	tests := []struct {
		ae   string
		want bool
	}{
		{"", false},
		{"gzip", true},
		{"GZIP", true},
		{"Gzip", true},
		{"gzip, deflate, br", true},
		{"br, gzip", true},
		{"deflate, br", false},
		{"identity", false},
		{"  gzip  ", true},
		{"br ,  gzip ;q=0.8", true},
		{"gzip;q=1", true},
		{"gzip;q=0.001", true},
		{"gzip;q=0", false},
		{"gzip; q=0", false},
		{"gzip ; q = 0", false},
		{"gzip;q=0.0", false},
		{"gzip;q=0.00", false},
		{"gzip;q=0.000", false},
		{"gzip;Q=0", false},  // parameter names are case-insensitive
		{"gzip;q=0.", false}, // qvalue = "0" [ "." 0*3DIGIT ]
		{"*", true},
		{"*;q=0", false},
		{"br, *", true},
		{"x-gzip", false},
		{"gzipx", false},
		// An explicit gzip entry wins over "*", wherever either is (RFC 9110 12.5.3).
		{"*;q=0, gzip", true},
		{"*, gzip;q=0", false},
		{"gzip;q=0, *", false},
		{",,,;;;", false},
	}
	for _, tt := range tests {
		if got := acceptsGzip(tt.ae); got != tt.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", tt.ae, got, tt.want)
		}
	}
}

func TestParsePageSize(t *testing.T) {
	tests := []struct {
		raw     string
		want    int
		wantErr bool
	}{
		{"", 20, false},
		{"0", 20, false},
		{"1", 1, false},
		{"20", 20, false},
		{"99", 99, false},
		{"100", 100, false},
		{"101", 100, false},
		{"1000000", 100, false},
		{"99999999999999999999999", 0, true}, // overflows int
		{"-1", 0, true},
		{"abc", 0, true},
		{"1.5", 0, true},
		{" 5", 0, true},
		{"+5", 5, false}, // strconv.Atoi accepts a sign
		{"0x10", 0, true},
	}
	for _, tt := range tests {
		got, err := parsePageSize(tt.raw, "pageSize", 20, 100)
		if tt.wantErr {
			if !apperr.Is(err, apperr.Invalid) {
				t.Errorf("parsePageSize(%q) error = %v, want an Invalid error", tt.raw, err)
			} else if e, _ := apperr.As(err); len(e.Fields) != 1 || e.Fields[0].Field != "pageSize" {
				t.Errorf("parsePageSize(%q) error fields = %+v, want pageSize", tt.raw, e.Fields)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parsePageSize(%q) = %d, %v; want %d", tt.raw, got, err, tt.want)
		}
	}
}

func TestEntryAfter(t *testing.T) {
	t1 := testT0
	t2 := testT0.Add(time.Second)
	cursor := &listCursor{T: t1, I: "m"}
	tests := []struct {
		name string
		e    *entry
		want bool
	}{
		{"older comes after", &entry{id: "z", publishTime: t1.Add(-time.Nanosecond)}, true},
		{"newer comes before", &entry{id: "a", publishTime: t2}, false},
		{"same time, smaller id comes after", &entry{id: "l", publishTime: t1}, true},
		{"same time, same id is the cursor itself", &entry{id: "m", publishTime: t1}, false},
		{"same time, larger id comes before", &entry{id: "n", publishTime: t1}, false},
		{"same instant in another zone", &entry{id: "l", publishTime: t1.In(time.FixedZone("x", 3600))}, true},
	}
	for _, tt := range tests {
		if got := entryAfter(tt.e, cursor); got != tt.want {
			t.Errorf("%s: entryAfter = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestCacheControl(t *testing.T) {
	tests := []struct {
		public bool
		maxAge int
		want   string
	}{
		{true, 60, "public, max-age=60, stale-while-revalidate=300"},
		{true, 0, "public, max-age=0, stale-while-revalidate=300"},
		{false, 60, "private, max-age=60"},
		{false, 86400, "private, max-age=86400"},
	}
	for _, tt := range tests {
		if got := cacheControl(tt.public, tt.maxAge); got != tt.want {
			t.Errorf("cacheControl(%v, %d) = %q, want %q", tt.public, tt.maxAge, got, tt.want)
		}
	}
}
