"""Runtime events for discovery's Observe tests, built with the protobuf types: an Actor
is one workload in one cluster; its methods make that workload's events at T0 + seconds."""
from __future__ import annotations

import hashlib

from weft.v1 import event_pb2 as pb

E = pb.RuntimeEvent
T0 = 1_750_000_000
PROVIDERS = {"eks": pb.Node.AWS, "aks": pb.Node.AZURE, "gke": pb.Node.GCP}


class Actor:
    def __init__(self, cluster: str, namespace: str, name: str, *, image: str = "", container: str = "",
                 labels: dict[str, str] | None = None, kind: str = "Deployment", exe: str = "/usr/bin/python3"):
        self.cluster, self.namespace, self.name, self.exe = cluster, namespace, name, exe
        container = container or name
        cid = hashlib.sha256(f"{cluster}/{namespace}/{name}/{container}".encode()).hexdigest()
        self.node = pb.Node(cluster=cluster, provider=PROVIDERS.get(cluster, pb.Node.OTHER), name=f"{cluster}-node-1")
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
        return self.event(t, E.NETWORK_CONNECT, network=pb.Network(
            src_ip="10.77.1.10", src_port=40000, dst_ip=ip, dst_port=port, protocol=pb.Network.TCP, dns_name=host))

    def accept(self, t: int, port: int, peer: str = "10.77.1.10") -> E:
        return self.event(t, E.NETWORK_ACCEPT, network=pb.Network(
            src_ip=peer, src_port=40000, dst_ip="10.77.2.10", dst_port=port, protocol=pb.Network.TCP))

    def dns(self, t: int, name: str) -> E:
        return self.event(t, E.DNS_QUERY, dns=pb.Dns(query=name, answers=["203.0.113.10"]))

    def llm(self, t: int, host: str, model: str = "gpt-4o", provider: str = "openai") -> E:
        return self.event(t, E.LLM_REQUEST, llm=pb.Llm(provider=provider, host=host, model=model,
                                                       path="/v1/chat/completions"))

    def mcp(self, t: int, server: str, tool: str = "", method: str = "tools/call", transport: str = "http") -> E:
        return self.event(t, E.MCP_CALL, mcp=pb.Mcp(transport=transport, server=server, method=method, tool=tool))

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
