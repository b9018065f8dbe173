"""Runtime reachability of vulnerable packages, written as OpenVEX.

    report = reports.load_file("grype.json")            # any supported format, by content
    assessment = reachability.assess(report.findings, profile)
    counts = summary.summarise(assessment)              # counts and the reduction
    vex = openvex.document(assessment, product=report.product)

`findings` is the typed form every report format is read into (`formats` holds the
parsers), `packages` maps file paths (opened at runtime, or named by a report) to the
packages they belong to.
"""
