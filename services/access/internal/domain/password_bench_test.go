package domain

import "testing"

// BenchmarkCheckPassword measures one argon2id check with the parameters every hash is made
// with (19 MiB, 2 passes, 1 lane): the CPU cost of a sign-in attempt, known email or not.
func BenchmarkCheckPassword(b *testing.B) {
	hash := hashPassword("correct horse battery staple")
	b.ReportAllocs()
	for b.Loop() {
		if !checkPassword(hash, "correct horse battery staple") {
			b.Fatal("the password does not match its hash")
		}
	}
}

func TestCheckPassword(t *testing.T) {
	hash := hashPassword("correct horse battery staple")
	tests := []struct {
		name     string
		hash     string
		password string
		want     bool
	}{
		{"right password", hash, "correct horse battery staple", true},
		{"wrong password", hash, "correct horse battery stapler", false},
		{"empty password", hash, "", false},
		{"not argon2id", "$argon2i" + hash[len("$argon2id"):], "correct horse battery staple", false},
		{"other version", "$argon2id$v=16" + hash[len("$argon2id$v=19"):], "correct horse battery staple", false},
		{"absurd memory", "$argon2id$v=19$m=99999999,t=2,p=1" + hash[len("$argon2id$v=19$m=19456,t=2,p=1"):], "correct horse battery staple", false},
		{"truncated", hash[:len(hash)-10], "correct horse battery staple", false},
		{"empty hash", "", "correct horse battery staple", false},
	}
	for _, tt := range tests {
		if got := checkPassword(tt.hash, tt.password); got != tt.want {
			t.Errorf("%s: checkPassword = %v, want %v", tt.name, got, tt.want)
		}
	}
	if hashPassword("same") == hashPassword("same") {
		t.Error("two hashes of one password are equal: no random salt")
	}
}
