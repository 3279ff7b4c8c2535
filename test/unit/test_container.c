// SPDX-License-Identifier: MIT
#include "container.h"
#include "unittest.h"

#define ID "3f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a19"

static void check_id(const char *cgroup, const char *want)
{
	char id[CONTAINER_ID_LEN + 1] = "";
	bool found = container__id_in_cgroup(cgroup, id);

	if (want) {
		CHECK(found);
		CHECK_STR(id, want);
	} else {
		CHECK(!found);
	}
}

static void test_cgroup_paths(void)
{
	/* cgroup v2, systemd cgroup driver: Docker, containerd (Kubernetes), CRI-O, Podman */
	check_id("0::/system.slice/docker-" ID ".scope\n", ID);
	check_id("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1b2c3d4e_"
		 "5f6a_7b8c_9d0e_1f2a3b4c5d6e.slice/cri-containerd-" ID ".scope\n",
		 ID);
	check_id("0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podab12.slice/"
		 "crio-" ID ".scope\n",
		 ID);
	check_id("0::/machine.slice/libpod-" ID ".scope/container\n", ID);
	/* cgroupfs driver, v1 hierarchies: the id is a component of its own */
	check_id("12:pids:/docker/" ID "\n11:memory:/docker/" ID "\n0::/docker/" ID "\n", ID);
	check_id("4:memory:/kubepods/burstable/pod1b2c3d4e-5f6a-7b8c-9d0e-1f2a3b4c5d6e/" ID "\n",
		 ID);
	/* systemd running inside the container: below the container's own cgroup */
	check_id("0::/system.slice/docker-" ID ".scope/init.scope\n", ID);
	/* the first line that holds one */
	check_id("9:name=systemd:/\n4:memory:/docker/" ID "\n0::/\n", ID);

	/* not containers: a host service, a login session, a 32-hex id, upper case, too long */
	check_id("0::/system.slice/ssh.service\n", NULL);
	check_id("0::/user.slice/user-1000.slice/session-2.scope\n", NULL);
	check_id("4:memory:/process_api/aba3665dd651743f3c878d8c6cb3977f\n0::/\n", NULL);
	check_id("0::/docker/3F2A9C1E8B7D6A5F4E3D2C1B0A9F8E7D6C5B4A3F2E1D0C9B8A7F6E5D4C3B2A19\n",
		 NULL);
	check_id("0::/docker/" ID "0\n", NULL);
	check_id("0::/\n", NULL);
	check_id("", NULL);
	check_id("garbage without colons " ID "\n", NULL);
	check_id("0:" ID "\n", NULL);
}

int main(void)
{
	test_cgroup_paths();
	return ut_summary();
}
