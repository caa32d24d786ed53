package petascope.wcps.metadata.model;

import java.util.List;
import org.rasdaman.domain.cis.NilValue;

public class RangeField {
    public static final String UOM_CODE = "10^0";
    private final String dataType;
    private final String name;
    private final List<NilValue> nodata;
    private final String uomCode;

    public RangeField(String dataType, String name, String description, List<NilValue> nodata,
                      String uomCode, String definition, List<Object> allowedValues) {
        this.dataType = dataType;
        this.name = name;
        this.nodata = nodata;
        this.uomCode = uomCode;
    }

    public String getDataType() { return dataType; }

    public String getName() { return name; }

    public List<NilValue> getNodata() { return nodata; }

    public String getUomCode() { return uomCode; }
}
