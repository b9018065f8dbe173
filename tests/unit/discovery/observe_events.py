"""Runtime events for discovery's Observe tests, built with the protobuf types: an Actor
is one workload in one cluster; its methods make that workload's events at T0 + seconds.
As in the lab, each cluster's workloads share one address, which is also the cluster's
egress IP (ADDRESSES): peers in other clusters see it as the source of its traffic."""
from __future__ import annotations

import hashlib

from weft.v1 import event_pb2 as pb

E = pb.RuntimeEvent
T0 = 1_750_000_000
PROVIDERS = {"eks": pb.Node.AWS, "aks": pb.Node.AZURE, "gke": pb.Node.GCP}
ADDRESSES = {"eks": "10.77.1.10", "aks": "10.77.2.10", "gke": "10.77.3.10"}


class Actor:
    def __init__(self, cluster: str, namespace: str, name: str, *, image: str = "", container: str = "",
                 labels: dict[str, str] | None = None, kind: str = "Deployment", exe: str = "/usr/bin/python3"):
        self.cluster, self.namespace, self.name, self.exe = cluster, namespace, name, exe
        self.address = ADDRESSES.get(cluster, "10.77.9.10")
        container = container or name
        cid = hashlib.sha256(f"{cluster}/{namespace}/{name}/{container}".encode()).hexdigest()
        self.node = pb.Node(cluster=cluster, provider=PROVIDERS.get(cluster, pb.Node.OTHER), name=f"{cluster}-node-1",
                            egress_ips=[self.address])
        self.workload = pb.Workload(namespace=namespace, pod=f"{name}-0", container=container, container_id=cid,
                                    kind=kind, name=name, service_account=name, image=image, labels=labels or {})
        self._n = 0

    def event(self, t: int, kind: int, **payload) -> E:
        self._n += 1
        ev = E(event_id=f"{self.cluster}-{self.name}-{self._n}", kind=kind, count=1, node=self.node,
               workload=self.workload, process=pb.Process(pid=100, exe=self.exe, comm=self.exe.rsplit("/", 1)[-1]),
               **payload)
        ev.time.FromSeconds(T0 + t)
        return ev

    def exec(self, t: int, *argv: str) -> E:
        ev = self.event(t, E.PROCESS_EXEC)
        ev.process.exe = argv[0] if argv[0].startswith("/") else f"/usr/bin/{argv[0]}"
        ev.process.args.extend(argv)
        return ev

    def open(self, t: int, path: str, *flags: str) -> E:
        return self.event(t, E.FILE_OPEN, file=pb.File(path=path, flags=list(flags or ("O_RDONLY",))))

    def connect(self, t: int, host: str, port: int, ip: str = "203.0.113.10") -> E:
        """To `host` (the name resolved first; "" for none) at `ip`, from this cluster's address."""
        return self.event(t, E.NETWORK_CONNECT, network=pb.Network(
            src_ip=self.address, src_port=40000, dst_ip=ip, dst_port=port, protocol=pb.Network.TCP, dns_name=host))

    def accept(self, t: int, port: int, peer: str = "10.77.1.10") -> E:
        """A connection from `peer` (another cluster's egress IP, or an address) on this cluster's address."""
        return self.event(t, E.NETWORK_ACCEPT, network=pb.Network(
            src_ip=peer, src_port=40000, dst_ip=self.address, dst_port=port, protocol=pb.Network.TCP))

    def dns(self, t: int, name: str) -> E:
        return self.event(t, E.DNS_QUERY, dns=pb.Dns(query=name, answers=["203.0.113.10"]))

    def llm(self, t: int, host: str, model: str = "gpt-4o", provider: str = "openai") -> E:
        return self.event(t, E.LLM_REQUEST, llm=pb.Llm(provider=provider, host=host, model=model,
                                                       path="/v1/chat/completions"))

    def mcp(self, t: int, server: str, tool: str = "", method: str = "tools/call", transport: str = "http", *,
            side: str = "", session: str = "", request: str = "") -> E:
        """An MCP request; `side` "client" (sent) or "server" (received), as the sensor says."""
        return self.event(t, E.MCP_CALL, mcp=pb.Mcp(transport=transport, server=server, method=method, tool=tool,
                                                    side=side, session_id=session, request_id=request))

    def http(self, t: int, host: str, path: str = "/", method: str = "GET") -> E:
        return self.event(t, E.HTTP_REQUEST, http=pb.Http(method=method, host=host, path=path))

    def exit(self, t: int) -> E:
        return self.event(t, E.PROCESS_EXIT, exit=pb.Exit(code=0))


SITE = "/usr/local/lib/python3.12/site-packages"


def web_server(cluster: str = "eks") -> list[E]:
    """nginx in front of a Flask app: serves pages, reads its files, talks to Postgres."""
    web = Actor(cluster, "shop", "web", image="nginx:1.27", exe="/usr/sbin/nginx")
    return [web.exec(0, "/usr/sbin/nginx", "-g", "daemon off;"), web.open(1, "/etc/nginx/nginx.conf"),
            web.exec(2, "/usr/local/bin/gunicorn", "app:app", "--bind", "0.0.0.0:8000"),
            web.open(3, f"{SITE}/flask/__init__.py"), web.open(3, f"{SITE}/requests/__init__.py"),
            web.accept(4, 80), web.accept(5, 8000), web.dns(6, "postgres.shop.svc.cluster.local"),
            web.connect(6, "postgres.shop.svc.cluster.local", 5432, ip="10.96.0.20"),
            web.open(7, "/var/www/html/index.html"), web.accept(8, 80, peer="10.77.3.9")]


def batch_job(cluster: str = "eks") -> list[E]:
    """A nightly export to S3 with boto3."""
    job = Actor(cluster, "data", "nightly-export", image="lab/export:3", kind="CronJob")
    return [job.exec(0, "python3", "/app/export.py"), job.open(1, f"{SITE}/boto3/__init__.py"),
            job.open(1, f"{SITE}/botocore/data/s3/2006-03-01/service-2.json.gz"),
            job.dns(2, "s3.us-east-1.amazonaws.com"), job.connect(2, "s3.us-east-1.amazonaws.com", 443),
            job.dns(3, "reports.s3.us-east-1.amazonaws.com"), job.connect(3, "reports.s3.us-east-1.amazonaws.com", 443),
            job.open(4, "/data/export.csv", "O_WRONLY", "O_CREAT"), job.exit(9)]


def vllm_server(cluster: str = "eks") -> list[E]:
    """vLLM serving a model: it ships the openai package and downloads weights from the Hub."""
    srv = Actor(cluster, "models", "llm", image="vllm/vllm-openai:v0.9.1")
    return [srv.exec(0, "python3", "-m", "vllm.entrypoints.openai.api_server", "--model", "meta-llama/Llama-3.1-8B"),
            srv.open(1, f"{SITE}/vllm/__init__.py"), srv.open(1, f"{SITE}/openai/__init__.py"),
            srv.dns(2, "huggingface.co"), srv.connect(2, "huggingface.co", 443),
            srv.open(3, "/root/.cache/huggingface/hub/model-00001-of-00004.safetensors"),
            srv.accept(4, 8000),
            srv.llm(5, "llm.models.svc.cluster.local", model="meta-llama/Llama-3.1-8B", provider="vllm")]


def langchain_agent(cluster: str = "eks", name: str = "support-bot", t: int = 0, labels=None) -> list[E]:
    """A LangChain agent that calls OpenAI and an MCP server in another cluster."""
    bot = Actor(cluster, "agents", name, image="lab/support-bot:1", labels=labels)
    return [bot.exec(t, "python3", "/app/bot.py"),
            bot.open(t + 1, f"{SITE}/langchain_core/__init__.py"), bot.open(t + 1, f"{SITE}/openai/__init__.py"),
            bot.dns(t + 2, "api.openai.com"), bot.connect(t + 2, "api.openai.com", 443, ip="162.159.140.245"),
            bot.llm(t + 3, "api.openai.com"),
            bot.mcp(t + 4, "http://records-mcp.tools.svc.aks.lab:8080/mcp", tool="read_records")]


NPX = "/root/.npm/_npx/4a1b/node_modules"
FILESYSTEM_MCP = "@modelcontextprotocol/server-filesystem"    # as the sensor names a stdio server
RECORDS_URL = "records-mcp.tools.svc.aks.lab:8080/mcp"         # as the sensor names an HTTP one: Host + path


def fleet_agent(cluster: str, t: int) -> tuple[Actor, list[E]]:
    """The reference agent's replica in one cluster: LangChain, the OpenAI and MCP SDKs,
    and a filesystem MCP server it runs over stdio with npx."""
    bot = Actor(cluster, "agents", "agent", image="lab/agent:1")
    return bot, [
        bot.exec(t, "python3", "/app/agent.py"),
        bot.open(t + 1, f"{SITE}/langchain_core/__init__.py"), bot.open(t + 1, f"{SITE}/langchain_openai/chat.py"),
        bot.open(t + 1, f"{SITE}/langchain_core-0.3.15.dist-info/METADATA"),
        bot.open(t + 1, f"{SITE}/openai/__init__.py"), bot.open(t + 1, f"{SITE}/mcp/client/streamable_http.py"),
        bot.exec(t + 2, "npx", "-y", FILESYSTEM_MCP, "/data"),
        bot.open(t + 2, f"{NPX}/{FILESYSTEM_MCP}/dist/index.js"),
        bot.open(t + 2, f"{NPX}/@modelcontextprotocol/sdk/dist/cjs/server/stdio.js"),
        bot.mcp(t + 3, FILESYSTEM_MCP, "read_file", transport="stdio", side="client", request="1")]


def cross_cloud_fleet() -> list[E]:
    """The reference deployment: the agent runs in EKS and AKS; its model server is in
    EKS, its MCP server (HTTP) in AKS with the payments API behind it, a storage service
    in GKE; the AKS replica also calls OpenAI, the EKS one an outside paste site. A
    nightly job in EKS uses the same storage (no AI takes part: not in the graph)."""
    eks, eks_events = fleet_agent("eks", 0)
    aks, aks_events = fleet_agent("aks", 0)
    model = Actor("eks", "agents", "model", image="vllm/vllm-openai:v0.9.1")
    records = Actor("aks", "tools", "records-mcp", image="lab/records-mcp:1")
    payments = Actor("aks", "payments", "api", image="lab/payments:1")
    storage = Actor("gke", "data", "storage", image="minio/minio:2025")
    job = Actor("eks", "data", "nightly-export", image="lab/export:3", kind="CronJob")
    eks_ip, aks_ip, gke_ip = ADDRESSES["eks"], ADDRESSES["aks"], ADDRESSES["gke"]
    model_url = "model.agents.svc.eks.lab:8000"
    return [
        *eks_events, *aks_events,
        model.exec(0, "python3", "-m", "vllm.entrypoints.openai.api_server", "--model", "meta-llama/Llama-3.1-8B"),
        records.exec(0, "mcp", "run", "/app/records.py"), payments.exec(0, "python3", "/app/api.py"),
        storage.exec(0, "/usr/bin/minio", "server", "/data"),
        # EKS agent -> its model server (same cluster, by name)
        eks.connect(10, "model.agents.svc.eks.lab", 8000, ip=eks_ip), model.accept(10, 8000, peer=eks_ip),
        eks.llm(10, model_url, model="meta-llama/Llama-3.1-8B", provider="vllm"),
        eks.llm(11, model_url, model="meta-llama/Llama-3.1-8B", provider="vllm"),
        # EKS agent -> the MCP server in AKS, both ends of one session seen
        eks.connect(20, "records-mcp.tools.svc.aks.lab", 8080, ip=aks_ip), records.accept(20, 8080, peer=eks_ip),
        eks.mcp(20, RECORDS_URL, "read_records", transport="streamable-http", side="client", session="s-eks",
                request="1"),
        records.mcp(20, RECORDS_URL, "read_records", transport="streamable-http", side="server", session="s-eks",
                    request="1"),
        eks.mcp(21, RECORDS_URL, "read_records", transport="streamable-http", side="client", session="s-eks",
                request="2"),
        records.mcp(21, RECORDS_URL, "read_records", transport="streamable-http", side="server", session="s-eks",
                    request="2"),
        # AKS agent -> the same MCP server, inside AKS
        aks.connect(22, "records-mcp.tools.svc.cluster.local", 8080, ip=aks_ip), records.accept(22, 8080, peer=aks_ip),
        aks.mcp(22, "records-mcp.tools.svc.cluster.local:8080/mcp", "read_records", transport="streamable-http",
                side="client", session="s-aks", request="7"),
        records.mcp(22, "records-mcp.tools.svc.cluster.local:8080/mcp", "read_records", transport="streamable-http",
                    side="server", session="s-aks", request="7"),
        # the MCP server -> the payments API (AKS, by name)
        records.connect(23, "api.payments.svc.aks.lab", 8443, ip=aks_ip), payments.accept(23, 8443, peer=aks_ip),
        # EKS agent -> GKE storage by address only: told by the accept from EKS's egress IP
        eks.connect(30, "", 9000, ip=gke_ip), storage.accept(30, 9000, peer=eks_ip),
        # AKS agent -> OpenAI
        aks.connect(12, "api.openai.com", 443, ip="162.159.140.245"), aks.llm(12, "api.openai.com"),
        # EKS agent -> somewhere outside
        eks.connect(40, "paste.example.org", 443, ip="198.51.100.7"),
        # no AI: the nightly job writes to the same storage
        job.connect(50, "", 9000, ip=gke_ip), storage.accept(50, 9000, peer=eks_ip),
    ]
