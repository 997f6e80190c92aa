package importfile_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	resourcesv1 "github.com/beaconcms/beacon/gen/beacon/resources/v1"
	"github.com/beaconcms/beacon/services/resources/importfile"
)

func TestDetectFormat(t *testing.T) {
	tests := []struct {
		name, data string
		want       resourcesv1.ImportFormat
	}{
		{"dir.csv", "[not json", resourcesv1.ImportFormat_IMPORT_FORMAT_CSV},
		{"services.JSON", "external_id,name", resourcesv1.ImportFormat_IMPORT_FORMAT_HSDS_JSON},
		{"export", "\ufeff  [{}]", resourcesv1.ImportFormat_IMPORT_FORMAT_HSDS_JSON},
		{"page.txt", `{"contents": []}`, resourcesv1.ImportFormat_IMPORT_FORMAT_HSDS_JSON},
		{"rows", "external_id,name\n1,a\n", resourcesv1.ImportFormat_IMPORT_FORMAT_CSV},
	}
	for _, tt := range tests {
		if got := importfile.DetectFormat(tt.name, []byte(tt.data)); got != tt.want {
			t.Errorf("DetectFormat(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestSplitCSVKeepsRecordsWhole: every part has the header and whole records (quoted newlines
// included), fits the limit unless one record alone does not, and the parts' rows, in order,
// are the file's rows with their file-wide numbers.
func TestSplitCSVKeepsRecordsWhole(t *testing.T) {
	var b strings.Builder
	b.WriteString("external_id,name,description\n")
	for i := 1; i <= 200; i++ {
		desc := strings.Repeat("x", i%7*10)
		if i%5 == 0 {
			desc = "\"line one\nline two, with a comma\""
		}
		fmt.Fprintf(&b, "row-%d,Name %d,%s\n", i, i, desc)
	}
	fmt.Fprintf(&b, "row-201,Huge,%s\n", strings.Repeat("h", 3000)) // larger than a part
	b.WriteString("row-202,Last,no newline at the end")
	for _, limit := range []int{500, 2000, 1 << 20} {
		parts, err := importfile.Split(resourcesv1.ImportFormat_IMPORT_FORMAT_CSV, []byte(b.String()), limit)
		if err != nil {
			t.Fatal(err)
		}
		next := 1
		for i, p := range parts {
			if !strings.HasPrefix(p.Content, "external_id,name,description\n") {
				t.Fatalf("limit %d, part %d has no header", limit, i)
			}
			if p.FirstRow != next {
				t.Errorf("limit %d, part %d starts at row %d, want %d", limit, i, p.FirstRow, next)
			}
			if len(p.Content) > limit && p.Rows > 1 {
				t.Errorf("limit %d, part %d is %d bytes with %d rows", limit, i, len(p.Content), p.Rows)
			}
			records, err := csv.NewReader(strings.NewReader(p.Content)).ReadAll()
			if err != nil {
				t.Fatalf("limit %d, part %d: %v", limit, i, err)
			}
			if len(records)-1 != p.Rows {
				t.Fatalf("limit %d, part %d holds %d records, says %d", limit, i, len(records)-1, p.Rows)
			}
			for j, rec := range records[1:] {
				if want := fmt.Sprintf("row-%d", p.FirstRow+j); rec[0] != want {
					t.Fatalf("limit %d, part %d record %d is %s, want %s", limit, i, j, rec[0], want)
				}
			}
			next += p.Rows
		}
		if next != 203 {
			t.Errorf("limit %d: parts hold %d rows, want 202", limit, next-1)
		}
		if limit == 1<<20 && len(parts) != 1 {
			t.Errorf("a small file was cut into %d parts", len(parts))
		}
	}
}

func TestSplitHSDSJSON(t *testing.T) {
	var services []map[string]any
	for i := 1; i <= 50; i++ {
		services = append(services, map[string]any{"id": fmt.Sprint(i), "name": strings.Repeat("n", i)})
	}
	array, _ := json.Marshal(services)
	page, _ := json.Marshal(map[string]any{"contents": services, "total_items": 50})
	for name, data := range map[string][]byte{"array": array, "page": page} {
		parts, err := importfile.Split(resourcesv1.ImportFormat_IMPORT_FORMAT_HSDS_JSON, data, 400)
		if err != nil {
			t.Fatal(err)
		}
		next := 1
		for i, p := range parts {
			var got []map[string]any
			if err := json.Unmarshal([]byte(p.Content), &got); err != nil {
				t.Fatalf("%s part %d is not a JSON array: %v", name, i, err)
			}
			if len(got) != p.Rows || p.FirstRow != next || got[0]["id"] != fmt.Sprint(next) || (len(p.Content) > 400 && p.Rows > 1) {
				t.Errorf("%s part %d: %d records from row %d (first id %v), %d bytes", name, i, p.Rows, p.FirstRow, got[0]["id"], len(p.Content))
			}
			next += p.Rows
		}
		if next != 51 || len(parts) < 2 {
			t.Errorf("%s: %d parts holding %d rows", name, len(parts), next-1)
		}
	}
	one, err := importfile.Split(resourcesv1.ImportFormat_IMPORT_FORMAT_HSDS_JSON, []byte(` {"id": "1", "name": "One"}`), 400)
	if err != nil || len(one) != 1 || one[0].Rows != 1 {
		t.Errorf("one service record: %v %v", one, err)
	}
	if _, err := importfile.Split(resourcesv1.ImportFormat_IMPORT_FORMAT_HSDS_JSON, []byte(`[{"id": 1},`), 400); err == nil {
		t.Error("broken JSON split without an error")
	}
}
