// Package integration holds end-to-end tests that run the real otrace binary
// (env OTRACE_BIN) against the net/http fixture in test/fixtures/httpserver
// and check its output against the OTLP specification and the stable HTTP
// semantic conventions. Output is parsed only through the OpenTelemetry
// Collector's unmarshaler (see internal/otlp).
//
// Environment:
//
//	OTRACE_BIN      otrace binary to test; the tests skip when it is unset
//	OTRACE_FIXTURE  prebuilt fixture binary; default: build one with
//	                test/fixtures/build-fixture.sh and the go on PATH
//	OTRACE_SERVICES prebuilt services fixture (database/sql tests); default:
//	                build it with test/fixtures/services/build.sh
//	OTRACE_GRPC_RELEASES
//	                grpc-go releases the gRPC tests build test/fixtures/services
//	                and test/fixtures/grpcchain with (space-separated); default:
//	                the oldest and newest otrace supports, and for TestGRPC and
//	                TestGRPCListProbes a sample between (grpcSample)
//	OTRACE_GENPROTO the google.golang.org/genproto/googleapis/rpc release the
//	                services fixture is built with (default: latest)
//	OTRACE_GRPC_FIXTURES
//	                a directory of prebuilt gRPC fixtures, named
//	                NAME-grpcRELEASE (grpcchain-grpcv1.14.0; stripped:
//	                services-grpcv1.14.0-ldflagssw); others are built
//	OTRACE_REDIS_RELEASES, OTRACE_KAFKA_RELEASES
//	                go-redis (module@version) and kafka-go releases TestRedis
//	                and TestKafka build their fixtures with (space-separated)
//	                instead of their lists (redisReleases, kafkaReleases)
//	OTRACE_CONCURRENT_REQUESTS
//	                how many requests TestConcurrentRequests sends (default 64)
//	OTRACE_PREBUILT a directory of fixtures built earlier, named as goFixture
//	                names them (kfake, kafkaapp-v0.4.51,
//	                redisapp-github.com_redis_go-redis_v9-v9.23.0); others
//	                are built
//
// The tests attach BPF programs, so they need root. TestSQL and
// TestNoModuleInfo also start a PostgreSQL server (test/db/postgres.sh;
// Debian's postgresql package); TestDebianPrograms traces Debian's
// prometheus-node-exporter, hugo and etcd (scripts/setup.sh installs them).
package integration
