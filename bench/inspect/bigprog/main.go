// Command bigprog is a deliberately large real Go program (Kubernetes client,
// AWS SDK, gRPC, net/http) used to measure how fast otrace inspects a binary
// of the size production services reach.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"google.golang.org/grpc"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "clients" {
		// reachable, so the linker keeps the packages
		cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
		if err == nil {
			_, _ = kubernetes.NewForConfig(cfg)
		}
		_ = s3.NewFromConfig(aws.Config{})
		_ = ec2.NewFromConfig(aws.Config{})
		_, _ = grpc.NewClient("localhost:1", grpc.WithAuthority("x"))
		fmt.Println(context.Background())
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	_ = http.ListenAndServe("127.0.0.1:0", nil)
}
