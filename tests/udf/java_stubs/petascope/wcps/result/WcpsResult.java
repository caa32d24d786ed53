package petascope.wcps.result;

import petascope.wcps.metadata.model.WcpsCoverageMetadata;

public class WcpsResult {
    private final WcpsCoverageMetadata metadata;
    private final String rasql;

    public WcpsResult(WcpsCoverageMetadata metadata, String rasql) {
        this.metadata = metadata;
        this.rasql = rasql;
    }

    public WcpsCoverageMetadata getMetadata() { return metadata; }

    public String getRasql() { return rasql; }
}
