package api_test

import (
	"context"
	"log/slog"
	"net"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	screeningv1 "github.com/beaconcms/beacon/gen/beacon/screening/v1"
	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/grpcserver"
	"github.com/beaconcms/beacon/services/screening/internal/api"
)

// keyVerifier accepts one admin key.
type keyVerifier struct{}

func (keyVerifier) Verify(_ context.Context, secret string) (auth.Principal, error) {
	if secret != "admin-secret" {
		return auth.Principal{}, apperr.New(apperr.Unauthenticated, "no such key")
	}
	return admin, nil
}

// grpcQuestionnaires serves e's questionnaire API over an in-memory gRPC connection, behind the
// access policy and the error mapping of a real server.
func grpcQuestionnaires(tb testing.TB, e *env) (screeningv1.QuestionnaireServiceClient, context.Context) {
	tb.Helper()
	logger := slog.New(slog.DiscardHandler)
	policy, err := auth.Merge(api.Rules(), auth.HealthAndReflectionRules())
	if err != nil {
		tb.Fatal(err)
	}
	srv := grpcserver.New(grpcserver.Config{}, auth.NewInterceptor(policy, keyVerifier{}, logger), logger)
	screeningv1.RegisterQuestionnaireServiceServer(srv, e.manage)
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = conn.Close(); srv.Stop() })
	return screeningv1.NewQuestionnaireServiceClient(conn), metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer admin-secret")
}

// wirePreconditions returns the google.rpc.PreconditionFailure violations of a gRPC error as
// "TYPE subject".
func wirePreconditions(err error) []string {
	var out []string
	for _, d := range status.Convert(err).Details() {
		if pf, ok := d.(*errdetails.PreconditionFailure); ok {
			for _, v := range pf.GetViolations() {
				out = append(out, v.GetType()+" "+v.GetSubject())
			}
		}
	}
	return out
}

// TestLintOverGRPC: over a gRPC connection, a questionnaire comes back with its lint findings,
// an error is FAILED_PRECONDITION with a PreconditionFailure naming the field path, and a warning
// blocks publishing until an acknowledgement covers it.
func TestLintOverGRPC(t *testing.T) {
	client, ctx := grpcQuestionnaires(t, newEnv(t))
	q := kratomCheck(t, "kratom-help")
	q.Items[1].Text = "Do you feel like one of the addicts?"
	_, err := client.CreateQuestionnaire(ctx, &screeningv1.CreateQuestionnaireRequest{Questionnaire: q})
	if status.Code(err) != codes.FailedPrecondition || !cmp.Equal([]string{"LINT_STIGMATISING_TERM questionnaire.items[1].text"}, wirePreconditions(err)) {
		t.Fatalf("create with an error: %v (violations %v)", err, wirePreconditions(err))
	}
	q = kratomCheck(t, "kratom-help")
	q.Bands[0].ResultText = "Many people stay clean with support."
	created, err := client.CreateQuestionnaire(ctx, &screeningv1.CreateQuestionnaireRequest{Questionnaire: q})
	if err != nil {
		t.Fatal(err)
	}
	fs := created.GetLintFindings()
	if len(fs) != 1 || fs[0].GetRuleId() != "stigmatising-clean-dirty" || fs[0].GetSeverity() != screeningv1.LintFinding_SEVERITY_WARNING ||
		fs[0].GetField() != "bands[0].result_text" || fs[0].GetAcknowledged() {
		t.Fatalf("create: lint_findings %v", fs)
	}
	_, err = client.PublishQuestionnaire(ctx, &screeningv1.PublishQuestionnaireRequest{Name: created.GetName()})
	if status.Code(err) != codes.FailedPrecondition || !cmp.Equal([]string{"LINT_STIGMATISING_CLEAN_DIRTY questionnaire.bands[0].result_text"}, wirePreconditions(err)) {
		t.Fatalf("publish with an unacknowledged warning: %v (violations %v)", err, wirePreconditions(err))
	}
	acked, err := client.UpdateQuestionnaire(ctx, &screeningv1.UpdateQuestionnaireRequest{
		Questionnaire: &screeningv1.Questionnaire{Name: created.GetName(), Etag: created.GetEtag(), Acknowledgements: []*screeningv1.LintAcknowledgement{
			{RuleId: "stigmatising-clean-dirty", Reviewer: "Dr. Rev", Reason: "the readers' own words"}}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"acknowledgements"}},
	})
	if err != nil || !acked.GetLintFindings()[0].GetAcknowledged() {
		t.Fatalf("acknowledge: %v, %v", acked.GetLintFindings(), err)
	}
	if _, err := client.PublishQuestionnaire(ctx, &screeningv1.PublishQuestionnaireRequest{Name: created.GetName(), Etag: acked.GetEtag()}); err != nil {
		t.Errorf("publish with the warning acknowledged: %v", err)
	}
}
