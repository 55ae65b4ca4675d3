"""The built-in blueprints every tenant can start an interview from, or copy and edit.

Kept as Python rather than JSON or YAML files: they are built with the schema's own types,
so pydantic validates them at import (a bad edit fails at startup and in every test run)
and mypy checks the field types and conditions; and Python modules ship with the package,
where data files would need package-data entries of their own. The rules they follow stay
in `conversations.blueprints.schema`.

`based_on` names the earlier answers a field is given in the light of, beyond its condition:
when one of them changes, the field is asked again. A field is based on an answer when its
options or its meaning follow from it (the vendors and features of a kind of network
function, the APIs of a vendor, whatever names the steps of a process); answers that stand
on their own (pricing, authentication, logging, the trigger, deadlines, the error policy)
are based on nothing and survive any change.
"""

from __future__ import annotations

from conversations.blueprints.schema import Blueprint, BlueprintField, Condition, FieldType

NETWORK_SERVICE = Blueprint(
    name="Network service",
    description="A virtual network function offered as a service: firewall, router, load balancer, VPN…",
    fields=[
        BlueprintField(
            key="service_type",
            label="Service type",
            question="Which kind of network service do you want to offer?",
            why="It decides which vendors, features and APIs apply.",
            type=FieldType.SINGLE_SELECT,
            options=["vFirewall", "vRouter", "vLoadBalancer", "vVPN", "vWAN optimizer", "SD-WAN edge"],
        ),
        BlueprintField(
            key="vendor",
            label="Vendor",
            question="Which vendor's products should the service run on?",
            why="Each vendor has its own APIs, licensing and images.",
            type=FieldType.SINGLE_SELECT,
            suggest=True,
            # The vendors proposed are those making this kind of function.
            based_on=["service_type"],
            options=[
                "Cisco",
                "Palo Alto Networks",
                "Fortinet",
                "Juniper",
                "Check Point",
                "F5",
                "Open source",
            ],
        ),
        BlueprintField(
            key="vpn_protocols",
            label="VPN protocols",
            question="Which VPN protocols must the service support?",
            why="Protocols decide the client software and the gateways' configuration.",
            type=FieldType.MULTI_SELECT,
            options=["IPsec IKEv2", "WireGuard", "SSL/TLS VPN", "L2TP over IPsec"],
            depends_on=Condition(field="service_type", op="equals", value="vVPN"),
        ),
        BlueprintField(
            key="features",
            label="Features",
            question="Which features should the service include?",
            why="Features become the service's API operations and its tests.",
            type=FieldType.MULTI_SELECT,
            suggest=True,
            # A router's features are not a firewall's.
            based_on=["service_type"],
            options=[
                "Stateful filtering",
                "Intrusion prevention",
                "URL filtering",
                "NAT",
                "High availability",
                "DDoS protection",
            ],
        ),
        BlueprintField(
            key="pricing_model",
            label="Pricing model",
            question="How will customers pay for the service?",
            why="Pricing decides what must be metered and billed.",
            type=FieldType.SINGLE_SELECT,
            options=[
                "Per instance per month",
                "Per throughput tier",
                "Pay as you go (hourly)",
                "Per user",
                "Enterprise contract",
            ],
        ),
        BlueprintField(
            key="api_docs",
            label="API and integration docs",
            question="Which vendor APIs or integration documents should the service use? Links or names do.",
            why="Generated code calls these APIs; the documents tell it how.",
            type=FieldType.FREE_TEXT,
            required=False,
            max_length=2000,
            # The management API is the vendor's, for this kind of function.
            based_on=["service_type", "vendor"],
        ),
        BlueprintField(
            key="authentication",
            label="Authentication",
            question="How should customers and systems authenticate to the service?",
            why="It shapes the API gateway and the customer portal.",
            type=FieldType.SINGLE_SELECT,
            options=[
                "API keys",
                "OAuth 2.0 client credentials",
                "mTLS certificates",
                "SSO with SAML or OIDC",
            ],
        ),
        BlueprintField(
            key="logging_monitoring",
            label="Logging and monitoring",
            question="Where should logs and metrics go?",
            why="Operations needs them to run and bill the service.",
            type=FieldType.MULTI_SELECT,
            options=[
                "Syslog",
                "Prometheus metrics",
                "OpenTelemetry traces",
                "SIEM (Splunk, QRadar…)",
                "Cloud provider logging",
            ],
        ),
    ],
)

BUSINESS_PROCESS = Blueprint(
    name="Business process",
    description="An automated process: what starts it, its steps, the systems and people involved.",
    fields=[
        BlueprintField(
            key="trigger",
            label="Trigger",
            question="What starts the process?",
            why="The trigger becomes the workflow's entry point.",
            type=FieldType.SINGLE_SELECT,
            options=["Started by hand", "On a schedule", "A webhook call", "An event from another system"],
        ),
        BlueprintField(
            key="steps",
            label="Steps",
            question="Describe the steps of the process, in order.",
            why="Each step becomes an activity of the workflow.",
            type=FieldType.FREE_TEXT,
            max_length=4000,
        ),
        BlueprintField(
            key="integrations",
            label="Integrations",
            question="Which systems does the process use?",
            why="Each one needs an activity or an n8n workflow to talk to it.",
            type=FieldType.MULTI_SELECT,
            suggest=True,
            # The systems are those the steps use.
            based_on=["steps"],
            options=[
                "n8n workflows",
                "Salesforce",
                "SAP",
                "ServiceNow",
                "Slack",
                "Email",
                "A REST API",
                "A database",
            ],
        ),
        BlueprintField(
            key="ai_actions",
            label="AI actions",
            question="Should any step use AI?",
            why="AI steps call a model through the gateway and need prompts.",
            type=FieldType.MULTI_SELECT,
            based_on=["steps"],
            options=[
                "Classify or route",
                "Extract data from documents",
                "Summarize",
                "Draft replies",
                "No AI",
            ],
        ),
        BlueprintField(
            key="human_approvals",
            label="Human approvals",
            question="Does any step need a person to approve it?",
            why="Approvals pause the workflow until someone decides.",
            type=FieldType.BOOLEAN,
            based_on=["steps"],
        ),
        BlueprintField(
            key="approval_details",
            label="Approval details",
            question="Who approves what, and how long may they take?",
            why="Each approval becomes a human task with a timeout.",
            type=FieldType.FREE_TEXT,
            depends_on=Condition(field="human_approvals", op="equals", value=True),
            based_on=["steps"],
        ),
        BlueprintField(
            key="timeouts_slas",
            label="Timeouts and SLAs",
            question="What deadlines or service levels apply to the process?",
            why="They become timers and timeouts in the workflow.",
            type=FieldType.FREE_TEXT,
            required=False,
        ),
        BlueprintField(
            key="error_handling",
            label="Error handling",
            question="When a step fails, what should happen?",
            why="It sets the workflow's error policy.",
            type=FieldType.SINGLE_SELECT,
            options=[
                "Stop and alert",
                "Retry, then alert",
                "Undo the completed steps",
                "Continue and report",
            ],
        ),
        BlueprintField(
            key="compensation",
            label="Compensation",
            question="How is each completed step undone?",
            why="The compensation workflow runs these steps in reverse.",
            type=FieldType.FREE_TEXT,
            depends_on=Condition(field="error_handling", op="equals", value="Undo the completed steps"),
            based_on=["steps"],
        ),
    ],
)

# Keyed by the slug in their URLs (blueprints/builtin/<key>/) and refs ("builtin:<key>").
BUILTIN: dict[str, Blueprint] = {"network-service": NETWORK_SERVICE, "business-process": BUSINESS_PROCESS}
