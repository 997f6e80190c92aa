package grpcserver

import (
	"context"
	"strings"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	v1reflectiongrpc "google.golang.org/grpc/reflection/grpc_reflection_v1"
	v1alphareflectiongrpc "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// Reflection is served to everyone, in two views chosen per stream by
// Authorizer.FullReflection: callers it admits see every service; every other caller, with or
// without a key, sees only the health service (grpc.health.v1.Health and the file that defines
// it), so that `grpcurl -plaintext host:port grpc.health.v1.Health/Check` works without a key
// while the map of the API stays behind it.
func registerReflection(srv *grpc.Server, full func(context.Context) bool) {
	all := reflection.ServerOptions{Services: srv}
	health := reflection.ServerOptions{
		Services:           healthOnly{},
		DescriptorResolver: healthFiles{},
		ExtensionResolver:  new(protoregistry.Types), // health declares no extensions
	}
	v1reflectiongrpc.RegisterServerReflectionServer(srv, &reflectionV1{full: full,
		all: reflection.NewServerV1(all), health: reflection.NewServerV1(health)})
	v1alphareflectiongrpc.RegisterServerReflectionServer(srv, &reflectionV1Alpha{full: full,
		all: reflection.NewServer(all), health: reflection.NewServer(health)})
}

// healthService is the one service unauthenticated reflection shows.
var healthService = healthpb.Health_ServiceDesc.ServiceName

// healthOnly lists the health service alone.
type healthOnly struct{}

func (healthOnly) GetServiceInfo() map[string]grpc.ServiceInfo {
	return map[string]grpc.ServiceInfo{healthService: {}}
}

// healthFiles resolves only the health service's file and the names it declares.
type healthFiles struct{}

var healthFile = healthpb.File_grpc_health_v1_health_proto

func (healthFiles) FindFileByPath(path string) (protoreflect.FileDescriptor, error) {
	if path != healthFile.Path() {
		return nil, protoregistry.NotFound
	}
	return healthFile, nil
}

func (healthFiles) FindDescriptorByName(name protoreflect.FullName) (protoreflect.Descriptor, error) {
	if !strings.HasPrefix(string(name), string(healthFile.Package())+".") {
		return nil, protoregistry.NotFound
	}
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(name)
	if err != nil || d.ParentFile().Path() != healthFile.Path() {
		return nil, protoregistry.NotFound
	}
	return d, nil
}

type reflectionV1 struct {
	v1reflectiongrpc.UnimplementedServerReflectionServer
	full        func(context.Context) bool
	all, health v1reflectiongrpc.ServerReflectionServer
}

func (r *reflectionV1) ServerReflectionInfo(stream v1reflectiongrpc.ServerReflection_ServerReflectionInfoServer) error {
	if r.full(stream.Context()) {
		return r.all.ServerReflectionInfo(stream)
	}
	return r.health.ServerReflectionInfo(stream)
}

type reflectionV1Alpha struct {
	v1alphareflectiongrpc.UnimplementedServerReflectionServer
	full        func(context.Context) bool
	all, health v1alphareflectiongrpc.ServerReflectionServer
}

func (r *reflectionV1Alpha) ServerReflectionInfo(stream v1alphareflectiongrpc.ServerReflection_ServerReflectionInfoServer) error {
	if r.full(stream.Context()) {
		return r.all.ServerReflectionInfo(stream)
	}
	return r.health.ServerReflectionInfo(stream)
}
