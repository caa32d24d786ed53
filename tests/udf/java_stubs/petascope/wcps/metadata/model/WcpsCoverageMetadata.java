package petascope.wcps.metadata.model;

import java.util.List;
import org.rasdaman.domain.cis.NilValue;

public class WcpsCoverageMetadata {
    private final List<Axis> axes;
    private final String crsUri;
    private List<RangeField> rangeFields;
    private List<List<NilValue>> nilValues;

    public WcpsCoverageMetadata(List<Axis> axes, String crsUri, List<RangeField> rangeFields) {
        this.axes = axes;
        this.crsUri = crsUri;
        this.rangeFields = rangeFields;
    }

    public List<Axis> getAxes() { return axes; }

    public String getCrsUri() { return crsUri; }

    public void setRangeFields(List<RangeField> rangeFields) { this.rangeFields = rangeFields; }

    public List<RangeField> getRangeFields() { return rangeFields; }

    public void setNilValues(List<List<NilValue>> nilValues) { this.nilValues = nilValues; }

    public List<List<NilValue>> getNilValues() { return nilValues; }
}
